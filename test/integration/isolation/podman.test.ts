// The chroot isolation inside an ordinary container: podman (runc) with Docker's default capability
// set (podman's default plus MKNOD, NET_RAW, AUDIT_WRITE), no --privileged, so no CAP_SYS_ADMIN and no
// mounts. The container's root is an empty directory plus the host's /usr (node, busybox, util-linux)
// and our compiled dist/, read-only: no image needs to be built.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dockerLikeSeccomp } from '../../support/agent-image';
import { REPO_ROOT, SUPPORT, run, tmpDir } from '../../support/testbed';

function containersEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const line of run('bash', [path.join(SUPPORT, 'containers-env.sh')]).split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function inPodman(mode: 'chroot' | 'none', caps: string[], drop: string[] = [], extra: string[] = []): any {
  const root = tmpDir('drydock-podroot-');
  for (const d of ['usr', 'etc', 'tmp', 'proc', 'sys', 'dev', 'app/dist', 'work']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.chmodSync(root, 0o755);
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) if (fs.existsSync(`/usr/${l}`)) fs.symlinkSync(`usr/${l}`, path.join(root, l));
  const args = ['run', '--rm', '--network=none', ...caps.map((c) => `--cap-add=${c}`), ...drop.map((c) => `--cap-drop=${c}`),
    '-v', '/usr:/usr:ro', '-v', `${path.join(REPO_ROOT, 'dist')}:/app/dist:ro`, '-v', '/etc/resolv.conf:/etc/resolv.conf:ro',
    ...extra, '--rootfs', root, 'node', '/app/dist/test/integration/isolation/in-container.js', mode];
  const r = spawnSync('podman', args, { encoding: 'utf8', env: containersEnv(), timeout: 60000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `podman ${args.join(' ')} printed no result (exit ${r.status}): ${r.stderr}`);
  fs.rmSync(root, { recursive: true, force: true });
  return JSON.parse(line);
}

describe('isolation inside a container with default capabilities (podman run, runc)', function () {
  this.timeout(60000);

  it('chroot mode with Docker\'s default caps and seccomp profile: no mount namespace, mknod /dev nodes, no /proc, user switch, nothing left behind', () => {
    const out = inPodman('chroot', ['MKNOD', 'NET_RAW', 'AUDIT_WRITE'], [], ['--security-opt', `seccomp=${dockerLikeSeccomp()}`]);
    assert.equal(out.error, undefined, out.error);
    assert.deepEqual(out.caps, { mknod: true, sysAdmin: false });
    assert.match(out.describe, /^chroot \(mount namespace: no,/);
    assert.deepEqual(out.result, { exitCode: 0, stderrText: '' });
    assert.equal(out.stdout, '65534\n65534\n/work/wd\ndevnull-ok\nresolv-ok\nno-proc\n');
    assert.equal(out.made, 'made\n');
    assert.equal(out.workdirOwner, 65534, 'the workdir the step needed belongs to its user');
    assert.equal(out.devLeft, false, '/dev made for the step is removed afterwards');
    assert.equal(out.resolvLeft, false, 'resolv.conf supplied for the step is removed afterwards');
  });

  it('chroot mode where a user namespace is allowed (podman\'s seccomp profile): /proc, /dev and the user switch in namespaces it owns, even without MKNOD', () => {
    for (const caps of [['MKNOD', 'NET_RAW', 'AUDIT_WRITE'], []]) {
      const out = inPodman('chroot', caps, caps.length ? [] : ['MKNOD']);
      assert.equal(out.error, undefined, out.error);
      assert.equal(out.caps.sysAdmin, false);
      assert.match(out.describe, /^chroot \(mount namespace: yes, in a user namespace,/);
      assert.deepEqual(out.result, { exitCode: 0, stderrText: '' });
      assert.equal(out.stdout, '65534\n65534\n/work/wd\ndevnull-ok\nresolv-ok\n/bin/busybox\n', 'a step finds its program through /proc, as java does');
      assert.equal(out.made, 'made\n');
    assert.equal(out.workdirOwner, 65534, 'the workdir the step needed belongs to its user');
      assert.equal(out.devLeft, false, 'the /dev mount point made for the step is removed afterwards');
      assert.equal(out.resolvLeft, false);
    }
  });

  it('chroot mode without MKNOD, SYS_ADMIN or a user namespace fails naming CAP_MKNOD', () => {
    const out = inPodman('chroot', [], ['MKNOD'], ['--security-opt', `seccomp=${dockerLikeSeccomp()}`]);
    assert.match(out.error, /--isolation=chroot is impossible here: this process lacks CAP_MKNOD/, JSON.stringify(out));
  });

  it('none mode detects the container, runs as another user, and ignores the mounts', () => {
    const out = inPodman('none', ['MKNOD', 'NET_RAW', 'AUDIT_WRITE']);
    assert.equal(out.error, undefined, out.error);
    assert.match(out.describe, /^none \(root is \/; container: \/run\/\.containerenv/);
    assert.equal(out.stdout, '65534\n/work/wd\n');
    assert.equal(out.made, 'made\n');
    assert.equal(out.workdirOwner, 65534, 'the workdir the step needed belongs to its user');
    for (const p of ['/usr', '/app/dist', '/etc/resolv.conf', '/proc', '/dev', '/sys']) assert.ok(out.ignore.includes(p), `${p} in ${out.ignore}`);
  });
});
