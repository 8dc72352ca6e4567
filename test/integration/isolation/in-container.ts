// Runs INSIDE a `podman run` container (see podman.test.ts): exercises selectIsolation with the
// container's real capabilities and prints one JSON line with what happened.
import { PassThrough } from 'node:stream';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCapabilities, selectIsolation, defaultIgnorePaths, detectContainer } from '../../../src/build/isolation';
import { makeBusyboxRoot } from './busybox-rootfs';

async function main(): Promise<void> {
  const mode = process.argv[2] as 'chroot' | 'none';
  const out: Record<string, unknown> = { caps: { mknod: readCapabilities().has('CAP_MKNOD'), sysAdmin: readCapabilities().has('CAP_SYS_ADMIN') } };
  try {
    const iso = selectIsolation(mode);
    out.describe = iso.describe();
    const rootfs = mode === 'chroot' ? makeBusyboxRoot() : '/';
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (d) => (text += d));
    const argv = mode === 'chroot'
      ? ['/bin/sh', '-c', 'id -u; id -g; pwd; echo x > /dev/null && echo devnull-ok; test -s /etc/resolv.conf && echo resolv-ok; readlink /proc/self/exe || echo no-proc; echo made > /tmp/made.txt']
      : ['/bin/sh', '-c', 'id -u; pwd; echo made > /tmp/made.txt'];
    const res = await iso.run({ rootfs, argv, env: ['PATH=/usr/bin:/bin'], uid: 65534, gid: 65534, workdir: '/work/wd', network: 'default', stdout, stderr: process.stderr });
    out.result = res;
    out.stdout = text;
    out.made = fs.readFileSync(path.join(rootfs, 'tmp/made.txt'), 'utf8');
    out.workdirOwner = fs.statSync(path.join(rootfs, 'work/wd')).uid;
    out.devLeft = mode === 'chroot' ? fs.readdirSync(rootfs).includes('dev') : undefined;
    out.resolvLeft = mode === 'chroot' ? fs.existsSync(path.join(rootfs, 'etc/resolv.conf')) : undefined;
    out.container = detectContainer();
    out.ignore = defaultIgnorePaths(process.env);
  } catch (e) {
    out.error = (e as Error).message;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

void main();
