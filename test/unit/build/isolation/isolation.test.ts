import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CapabilitySet, defaultIgnorePaths, detectContainer, findHostTools, HostTools, parseCapEff, pickLauncher, resolveInRoot, selectIsolation } from '../../../../src/build/isolation';
import { boundingArgs, SANDBOX_BOUNDING_SET, stepsNeedBounding } from '../../../../src/build/isolation/capabilities';
import { tmpDir } from '../../../support/testbed';

const noContainer = { exists: () => false, read: () => undefined };

describe('build/isolation capabilities', () => {
  it('reads CapEff bits', () => {
    // Docker's default set: 0x00000000a80425fb
    const c = parseCapEff('Name:\tx\nCapEff:\t00000000a80425fb\n');
    assert.deepEqual(c.missing('CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_ADMIN'), ['CAP_SYS_ADMIN']);
    assert.throws(() => parseCapEff('nothing'), /no "CapEff:" line/);
  });

  it('a sandboxed step is bounded by Docker\'s default set only when this process has more and may narrow it', () => {
    const status = (bnd: string, eff: string) => `Name:\tx\nCapEff:\t${eff}\nCapBnd:\t${bnd}\n`;
    assert.equal(stepsNeedBounding(status('000001ffffffffff', '000001ffffffffff')), true, 'root on a host');
    assert.equal(stepsNeedBounding(status('00000000a80425fb', '00000000a80425fb')), false, 'a container with the default set');
    assert.equal(stepsNeedBounding(status('00000000a82425fb', '00000000a82424fb')), false, 'more than the default, without CAP_SETPCAP');
    assert.equal(stepsNeedBounding('CapEff:\t0\n'), false, 'no bound known');
    assert.deepEqual(boundingArgs({ security: 'sandbox' }, true), [`--bounding-set=${SANDBOX_BOUNDING_SET}`]);
    assert.deepEqual(boundingArgs({}, true), [`--bounding-set=${SANDBOX_BOUNDING_SET}`], 'sandbox is the default');
    assert.deepEqual(boundingArgs({ security: 'insecure' }, true), []);
    assert.deepEqual(boundingArgs({ security: 'sandbox' }, false), []);
  });

  it('selectIsolation names the missing capability', () => {
    const caps = CapabilitySet.of('CAP_SETUID', 'CAP_SETGID', 'CAP_MKNOD');
    assert.throws(() => selectIsolation('chroot', { caps, noMount: true }), /this process lacks CAP_SYS_CHROOT/);
    // not root and no capabilities: neither mode may run (none would unpack over / as that user)
    for (const mode of ['auto', 'chroot', 'none'] as const) {
      assert.throws(() => selectIsolation(mode, { caps: CapabilitySet.of(), noMount: true, uid: 1000 }), /needs root in the build container, but this process runs as uid 1000/);
    }
    const noMknod = CapabilitySet.of('CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_CHROOT');
    assert.throws(() => selectIsolation('chroot', { caps: noMknod, noMount: true, noUserNamespace: true }), /lacks CAP_MKNOD \(or CAP_SYS_ADMIN/);
    // DRYDOCK_NO_USERNS=1 says the same as noUserNamespace
    assert.throws(() => selectIsolation('chroot', { caps: noMknod, noMount: true, env: { DRYDOCK_NO_USERNS: '1' } }), /lacks CAP_MKNOD \(or CAP_SYS_ADMIN/);
    assert.equal(selectIsolation('chroot', { caps: CapabilitySet.of('CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_CHROOT', 'CAP_MKNOD'), noMount: true }).name, 'chroot');
  });

  it('auto falls back to none, which refuses outside a container unless forced', () => {
    const caps = CapabilitySet.of('CAP_SETUID', 'CAP_SETGID');
    assert.throws(() => selectIsolation('auto', { caps, env: {}, probeFs: noContainer }), /no sign of a container[^]*--force/);
    const iso = selectIsolation('auto', { caps, env: {}, probeFs: noContainer, force: true });
    assert.equal(iso.name, 'none');
    assert.match(iso.describe(), /not in a container: forced/);
  });
});

describe('build/isolation container detection', () => {
  const fsWith = (files: Record<string, string>) => ({ exists: (p: string) => p in files, read: (p: string) => files[p] });
  it('finds the signs kaniko looks for', () => {
    assert.equal(detectContainer({}, noContainer), undefined);
    assert.match(detectContainer({}, fsWith({ '/.dockerenv': '' }))!, /dockerenv/);
    assert.match(detectContainer({}, fsWith({ '/run/.containerenv': '' }))!, /podman/);
    assert.match(detectContainer({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, noContainer)!, /KUBERNETES/);
    assert.match(detectContainer({ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' }, noContainer)!, /ECS/);
    assert.match(detectContainer({}, fsWith({ '/proc/1/cgroup': '12:pids:/docker/0123456789abcdef\n' }))!, /docker/);
    assert.match(detectContainer({}, fsWith({ '/proc/1/cgroup': '0::/kubepods/besteffort/pod1/abc\n' }))!, /kubepods/);
    assert.match(detectContainer({}, fsWith({ '/proc/1/environ': 'PATH=/bin\0container=podman\0' }))!, /pid 1/);
    assert.equal(detectContainer({}, fsWith({ '/proc/1/cgroup': '0::/init.scope\n' })), undefined);
  });
});

describe('build/isolation defaultIgnorePaths', () => {
  const mountinfo = [
    '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
    '23 22 0:5 / /proc rw - proc proc rw',
    '24 22 8:1 /vol /home/jenkins/agent/workspace\\040x rw - ext4 /dev/sda1 rw',
    '25 22 0:6 / /var/run/secrets rw - tmpfs tmpfs rw',
  ].join('\n');
  it('protects the executor, the agent, virtual filesystems, mounts and --ignore-path', () => {
    const p = defaultIgnorePaths(
      { JENKINS_AGENT_WORKDIR: '/home/jenkins/agent', WORKSPACE: '/ws/job', HOME: '/home/jenkins', DOCKER_CONFIG: '/cfg/docker' },
      ['/extra/', '/var/cache/x'],
      { mountinfo, execPath: '/opt/node/bin/node', installDir: '/opt/drydock' },
    );
    for (const x of ['/proc', '/sys', '/dev', '/busybox', '/opt/node/bin/node', '/opt/drydock', '/home/jenkins/agent', '/ws/job', '/home/jenkins',
      '/cfg/docker', '/home/jenkins/agent/workspace x', '/var/run/secrets', '/extra', '/var/cache/x']) assert.ok(p.includes(x), `${x} missing from ${p}`);
    assert.ok(!p.includes('/'));
    assert.deepEqual(p, [...p].sort());
  });

  it('keeps /root (the image\'s) and defaults DOCKER_CONFIG to kaniko\'s', () => {
    const p = defaultIgnorePaths({ HOME: '/root' }, [], { mountinfo: '', execPath: '/n', installDir: '/d' });
    assert.ok(!p.includes('/root'));
    assert.ok(p.includes('/kaniko/.docker'));
    assert.ok(p.includes('/root/.docker'), 'without DOCKER_CONFIG, credentials come from ~/.docker: kept, though /root is not');
    assert.ok(!defaultIgnorePaths({ HOME: '/root', DOCKER_CONFIG: '/cfg' }, [], { mountinfo: '', execPath: '/n', installDir: '/d' }).includes('/root/.docker'));
    assert.throws(() => defaultIgnorePaths({}, ['rel/path'], { mountinfo: '' }), /--ignore-path "rel\/path": expected an absolute path/);
  });
});

describe('build/isolation resolveInRoot', () => {
  it('follows the image\'s symlinks inside the root and never out of it', async () => {
    const root = tmpDir();
    fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    fs.symlinkSync('/usr/lib', path.join(root, 'lib'));
    fs.symlinkSync('../../../../..', path.join(root, 'usr/up'));
    assert.equal((await resolveInRoot(root, '/lib/x')).hostPath, path.join(root, 'usr/lib/x'));
    assert.equal((await resolveInRoot(root, '/usr/up/etc/passwd')).hostPath, path.join(root, 'etc/passwd'));
    assert.equal((await resolveInRoot(root, '/../../etc')).hostPath, path.join(root, 'etc'));
    assert.equal((await resolveInRoot(root, '/lib', { followLast: false })).hostPath, path.join(root, 'lib'));
    const made = await resolveInRoot(root, '/lib/a/b', { create: true });
    assert.deepEqual(made.created, ['/usr/lib/a', '/usr/lib/a/b']);
    fs.symlinkSync('loop', path.join(root, 'loop'));
    await assert.rejects(resolveInRoot(root, '/loop/x'), /too many levels of symbolic links/);
    fs.writeFileSync(path.join(root, 'file'), '');
    await assert.rejects(resolveInRoot(root, '/file/x', { create: true }), /"\/file" inside the image is not a directory/);
  });
});

describe('build/isolation launchers', () => {
  const tools = (over: Partial<HostTools>): HostTools => ({ setprivPdeathsig: false, utilLinuxLauncher: false, chrootUserspec: false, ...over });

  it('takes util-linux\'s setpriv and nsenter, never busybox applets of those names', () => {
    assert.equal(pickLauncher(tools({ setpriv: '/usr/bin/setpriv', nsenter: '/usr/bin/nsenter', utilLinuxLauncher: true, chroot: '/usr/sbin/chroot' })), 'util-linux');
    assert.equal(pickLauncher(tools({ setpriv: '/bin/setpriv', nsenter: '/bin/nsenter', utilLinuxLauncher: false, chroot: '/bin/chroot' })), 'busybox');
    assert.equal(pickLauncher(tools({ setpriv: '/bin/setpriv', nsenter: '/bin/nsenter', chroot: '/usr/sbin/chroot', chrootUserspec: true })), 'coreutils');
    assert.equal(pickLauncher(tools({})), undefined);
  });

  it('knows util-linux\'s programs by what their files say (this host has them; its busybox has applets)', () => {
    assert.equal(findHostTools().utilLinuxLauncher, true);
    assert.equal(findHostTools().setprivPdeathsig, true);
  });
});
