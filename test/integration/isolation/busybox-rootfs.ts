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

/**
 * The host's JDK (Debian's default-jdk-headless) added to `root`: hard links of its files at the
 * same path, the C libraries it loads, its /etc/java-* configuration, and Debian's links
 * /usr/bin/java → /etc/alternatives/java → the JDK's bin/java. Returns the JDK's directory.
 */
export function addHostJdk(root: string): string {
  const java = fs.realpathSync('/usr/bin/java');
  const jdk = path.dirname(path.dirname(java));
  fs.mkdirSync(path.join(root, path.dirname(jdk)), { recursive: true });
  run('cp', ['-al', jdk, path.join(root, jdk)]);
  for (const etc of fs.readdirSync('/etc').filter((n) => n.startsWith('java-'))) run('cp', ['-a', path.join('/etc', etc), path.join(root, 'etc')]);
  const objects = [java, ...['libjli.so', 'libjava.so', 'libjimage.so', 'libzip.so', 'libnet.so', 'libnio.so', 'server/libjvm.so'].map((l) => path.join(jdk, 'lib', l))];
  const libs = new Set<string>();
  for (const o of objects.filter((f) => fs.existsSync(f))) {
    for (const m of run('ldd', [o]).matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) if (!m[1].startsWith(jdk)) libs.add(m[1]);
  }
  for (const lib of libs) {
    fs.mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
    fs.copyFileSync(lib, path.join(root, lib)); // the file itself, where the host has a link
  }
  fs.mkdirSync(path.join(root, 'etc/alternatives'), { recursive: true });
  fs.symlinkSync(path.join(jdk, 'bin/java'), path.join(root, 'etc/alternatives/java'));
  fs.symlinkSync('/etc/alternatives/java', path.join(root, 'usr/bin/java'));
  return jdk;
}
