// A minimal real image root for RUN tests: the host's static busybox plus its applet links, the
// same recipe as test/support/make-base-images.sh (faster than pulling and unpacking an image).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, tmpDir } from '../../support/testbed';

const BUSYBOX = '/bin/busybox';

/** A fresh busybox root in a new temporary directory (~400 links, a few ms). */
export function makeBusyboxRoot(): string {
  const r = path.join(tmpDir('drydock-bbroot-'), 'rootfs');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'tmp', 'var', 'home']) fs.mkdirSync(path.join(r, d), { recursive: true });
  fs.chmodSync(path.join(r, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(r, 'bin/busybox'));
  fs.chmodSync(path.join(r, 'bin/busybox'), 0o755);
  for (const p of run(BUSYBOX, ['--list-full']).split('\n').filter(Boolean)) {
    const dst = path.join(r, p);
    if (!fs.existsSync(dst)) fs.symlinkSync('/bin/busybox', dst);
  }
  fs.writeFileSync(path.join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(r, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
  return r;
}
