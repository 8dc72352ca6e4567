// The chroot isolation on this host, in both shapes: with a private mount namespace (we are root
// with CAP_SYS_ADMIN here) and plain, as in an ordinary container (simulated with noMount: the
// real container case is podman.test.ts). Each runs real busybox in a real root.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { canMountPrivately, ChrootIsolation, findHostTools, Isolation, Launcher, readCapabilities, RunSpec, SelectOptions, selectIsolation } from '../../../src/build/isolation';
import { runProcess } from '../../../src/build/isolation/spawn-step';
import { canMountInUserNamespace, GATE_LINES } from '../../../src/build/isolation/user-namespace';
import { run, tmpDir } from '../../support/testbed';
import { addHostJdk, makeBusyboxRoot } from './busybox-rootfs';
import { fstabFile } from '../../../src/build/isolation/chroot';

async function runIn(iso: Isolation, rootfs: string, script: string, over: Partial<RunSpec> = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d) => (stdout += d));
  err.on('data', (d) => (stderr += d));
  const res = await iso.run({
    rootfs, argv: ['/bin/sh', '-c', script], env: ['PATH=/bin:/usr/bin', 'FOO=bar baz'], uid: 0, gid: 0,
    workdir: '/', network: 'default', stdout: out, stderr: err, ...over,
  });
  return { ...res, stdout, stderr };
}

const hostResolv = path.join(tmpDir(), 'resolv.conf');
fs.writeFileSync(hostResolv, 'nameserver 192.0.2.53 # drydock-test\n');

// ns: where the step's namespaces come from: ours to make (host), a user namespace's (userns:
// as in a container whose seccomp profile allows one, simulated by noMount), or none (plain:
// as under Docker's default profile, simulated by noMount and noUserNamespace)
const shapes: Array<{ name: string; select: SelectOptions; ns: 'host' | 'userns' | 'none' }> = [
  { name: 'plain (no mount rights, no user namespace)', select: { noMount: true, noUserNamespace: true }, ns: 'none' },
];
if (canMountInUserNamespace(findHostTools())) shapes.unshift({ name: 'user namespace (no mount rights of its own)', select: { noMount: true, noUserNamespace: false }, ns: 'userns' });
if (canMountPrivately()) shapes.unshift({ name: 'mount namespace', select: {}, ns: 'host' });

for (const shape of shapes) {
  const noMount = shape.ns === 'none';
  describe(`chroot isolation, ${shape.name}`, function () {
    this.timeout(20000);
    let root: string;
    let iso: Isolation;
    before(() => {
      root = makeBusyboxRoot();
      iso = selectIsolation('chroot', { ...shape.select, hostResolvConf: hostResolv });
    });

    it('describes itself for the build log', () => {
      const ns = { host: 'yes', userns: 'yes, in a user namespace', none: 'no' }[shape.ns];
      assert.equal(iso.describe(), `chroot (mount namespace: ${ns}, launcher: util-linux${shape.ns === 'none' ? '; steps have no /proc' : ''})`);
    });

    it('passes exactly the given environment', async () => {
      const r = await runIn(iso, root, 'env | sort');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n').filter((l) => l !== 'PWD=/' && !l.startsWith('SHLVL=')), ['FOO=bar baz', 'PATH=/bin:/usr/bin']);
    });

    it('runs as a numeric uid/gid without a passwd entry, with exactly the given groups', async () => {
      const r = await runIn(iso, root, 'id -u; id -g; id -G', { uid: 12345, gid: 23456, groups: [23456, 7] });
      assert.equal(r.stdout, '12345\n23456\n23456 7\n');
      const n = await runIn(iso, root, 'id -G', { uid: 65534, gid: 65534 });
      assert.equal(n.stdout, '65534\n');
    });

    it('creates a missing workdir (following the image\'s own symlinks), owned by the step\'s user as BuildKit does, and starts there', async () => {
      fs.mkdirSync(path.join(root, 'opt'), { recursive: true });
      fs.symlinkSync('/opt/real', path.join(root, 'linked'));
      const r = await runIn(iso, root, 'pwd; touch mine', { workdir: '/linked/deep/dir', uid: 65534, gid: 65533 });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, '/opt/real/deep/dir\n');
      assert.ok(fs.statSync(path.join(root, 'opt/real/deep/dir')).isDirectory());
      for (const made of ['opt/real', 'opt/real/deep', 'opt/real/deep/dir', 'opt/real/deep/dir/mine']) {
        const st = fs.lstatSync(path.join(root, made));
        assert.deepEqual([st.uid, st.gid], [65534, 65533], made);
      }
      assert.equal(fs.statSync(path.join(root, 'opt')).uid, 0, 'a directory that was there keeps its owner');
      const asRoot = await runIn(iso, root, 'pwd', { workdir: '/made/by/root' });
      assert.equal(asRoot.exitCode, 0, asRoot.stderr);
      assert.equal(fs.statSync(path.join(root, 'made/by')).uid, 0);
    });

    it('reports exit codes and signals', async () => {
      assert.equal((await runIn(iso, root, 'exit 42')).exitCode, 42);
      if (noMount) {
        // with a pid namespace the step is pid 1, which (as in any container) ignores TERM
        const k = await runIn(iso, root, 'kill -TERM $$');
        assert.deepEqual([k.exitCode, k.signal], [143, 'SIGTERM']);
      }
      const missing = await runIn(iso, root, '', { argv: ['/no/such/program'] });
      assert.notEqual(missing.exitCode, 0);
    });

    it('gives the step pipes for stdout and stderr: /dev/stdout and /dev/stderr open, each on its stream', async () => {
      // Node's own are sockets, which /proc/self/fd/N cannot open (ENXIO): nginx -t failed so
      // (without /proc, as in the plain shape, the FIFOs themselves are linked in as /dev/stdout and /dev/stderr)
      const scratch = path.join(path.dirname(root), `scratch-${shape.ns}`);
      fs.mkdirSync(scratch, { recursive: true });
      const r = await runIn(iso, root, 'echo to-out > /dev/stdout && echo to-err > /dev/stderr && echo plain && echo plain-err >&2', { scratch });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'to-out\nplain\n');
      assert.equal(r.stderr, 'to-err\nplain-err\n');
      for (const f of ['stdout', 'stderr']) assert.equal(fs.existsSync(path.join(root, 'dev', f)), false, `no /dev/${f} left in the root`);
      const fds = await runIn(iso, root, 'echo out; echo err >&2');
      assert.deepEqual([fds.stdout, fds.stderr], ['out\n', 'err\n']);
      const lots = await runIn(iso, root, 'i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done; exit 3');
      assert.equal(lots.exitCode, 3, 'the step\'s exit code passes through');
      assert.equal(lots.stdout.split('\n').length, 3001, 'all of a long output arrives before the step is reported done');
    });

    it('ends with its main process, killing what it left running (as a container does with its init)', async () => {
      const t0 = Date.now();
      // one in the background of the step's own group, one that left it (setsid), both holding its output
      const r = await runIn(iso, root, 'sleep 40 & setsid sleep 41 & echo left-two');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'left-two\n');
      assert.ok(Date.now() - t0 < 20000, `the step took ${Date.now() - t0} ms: it waited for what it left`);
      await new Promise((res) => setTimeout(res, 200));
      const left = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((pid) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/root`) === root && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
        } catch {
          return false;
        }
      });
      assert.deepEqual(left, [], 'no process of the step is left running in its root');
      const next = await runIn(iso, root, 'echo next');
      assert.equal(next.stdout, 'next\n', 'the next step\'s output is its own');
    });

    it('starts java, the JDK on PATH through Debian\'s links, with /proc or without (then given LD_ORIGIN_PATH)', async function () {
      this.timeout(60000);
      const jroot = makeBusyboxRoot();
      const jdk = addHostJdk(jroot);
      const r = await runIn(iso, jroot, 'java -version 2>&1; echo "origin=$LD_ORIGIN_PATH"', { env: ['PATH=/usr/bin:/bin'] });
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /openjdk version/, r.stdout);
      assert.match(r.stdout, new RegExp(`origin=${noMount ? `${jdk}/bin` : ''}\n$`));
    });

    it('puts nothing back through a directory the step replaced with a symlink to the host (/etc, /dev)', async () => {
      const jroot = makeBusyboxRoot();
      const victim = tmpDir('drydock-victim-');
      for (const f of ['hosts', 'resolv.conf', 'hostname', 'keep']) fs.writeFileSync(path.join(victim, f), `host's ${f}\n`);
      fs.mkdirSync(path.join(victim, 'sub'));
      fs.writeFileSync(path.join(jroot, 'etc/hostname'), 'image hostname\n');
      const listing = () => run('find', [victim, '-printf', '%p %y %s %m %u %T@\\n']);
      const before = listing();
      const r = await runIn(iso, jroot, `rm -rf /etc && ln -s ${victim} /etc`);
      assert.equal(r.exitCode, 0, r.stderr);
      if (noMount) { // with namespaces /dev is a mount of the step's own
        const d = await runIn(iso, jroot, `rm -rf /dev && ln -s ${victim} /dev`);
        assert.equal(d.exitCode, 0, d.stderr);
      }
      assert.equal(listing(), before, 'the host directory is as it was');
      assert.equal(fs.readlinkSync(path.join(jroot, 'etc')), victim, 'the step\'s symlink is its change, left for the snapshot');
    });

    it('kills what a step left running in a root of its own below the step\'s (chroot, setsid)', async () => {
      const jroot = makeBusyboxRoot();
      // a new session, no pipe of the step's held, and a root of its own: nothing ties it to the step
      const r = await runIn(iso, jroot, 'mkdir -p /tmp/j/bin && cp /bin/busybox /tmp/j/bin/ && (setsid chroot /tmp/j /bin/busybox sleep 4851 </dev/null >/dev/null 2>&1 &) ; sleep 0.5; echo started');
      assert.equal(r.exitCode, 0, r.stderr);
      await new Promise((res) => setTimeout(res, 300));
      const left = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((pid) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/root`).startsWith(jroot) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
        } catch {
          return false;
        }
      });
      assert.deepEqual(left, [], 'nothing the step started is left running');
    });

    it('drops what a step writes into /dev, /proc and /sys, as the runtime\'s mounts there would', async () => {
      const r = await runIn(iso, root, 'touch /dev/foo /proc/bar /sys/baz 2>/dev/null; mkdir -p /dev/dd/e 2>/dev/null; echo done');
      assert.equal(r.stdout, 'done\n', r.stderr);
      for (const p of ['dev/foo', 'dev/dd', 'proc/bar', 'sys/baz']) assert.equal(fs.existsSync(path.join(root, p)), false, `/${p} is not left in the root`);
    });

    it('gives the step usable /dev nodes and leaves none in the root', async () => {
      const r = await runIn(iso, root, 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 8 /dev/urandom | wc -c && ls /dev', { uid: 65534, gid: 65534 });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /^4\n8\n/);
      for (const n of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) assert.match(r.stdout, new RegExp(`^${n}$`, 'm'));
      assert.equal(fs.existsSync(path.join(root, 'dev')), false);
      if (noMount) return;
      // the namespace's own /dev: real nodes, fd links, a private pts and a writable shm; copied
      // from the host's nodes, or made one by one where those are not the standard ones
      const oneByOne = new ChrootIsolation({
        caps: readCapabilities(), tools: findHostTools(), mountNamespace: true, userNamespace: shape.ns === 'userns', devNodesOneByOne: true, hostResolvConf: hostResolv,
      });
      for (const i of [iso, oneByOne]) {
        const d = await runIn(i, root, [
          'for n in null zero full random urandom tty; do [ -c /dev/$n ] || echo "no node $n"; done',
          'for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done',
          '[ -d /dev/pts ] && echo x > /dev/shm/probe && cat /dev/shm/probe',
        ].join('; '), { uid: 65534, gid: 65534 });
        assert.equal(d.exitCode, 0, d.stderr);
        assert.equal(d.stdout, '/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\nx\n');
        assert.equal(fs.existsSync(path.join(root, 'dev')), false);
      }
    });

    it('supplies resolv.conf, hosts and hostname for the step only', async () => {
      const r = await runIn(iso, root, 'cat /etc/resolv.conf; grep -c localhost /etc/hosts; cat /etc/hostname', { hostname: 'builder1' });
      assert.equal(r.stdout, 'nameserver 192.0.2.53 # drydock-test\n2\nbuilder1\n');
      for (const f of ['resolv.conf', 'hosts', 'hostname']) assert.equal(fs.existsSync(path.join(root, 'etc', f)), false, f);
      assert.deepEqual(iso.transientPaths().filter((p) => p.startsWith('/etc/')), ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
      if (!noMount) {
        // the step's own UTS namespace carries the name too (the host's stays as it was)
        const h = await runIn(iso, root, 'hostname', { hostname: 'builder1' });
        assert.equal(h.stdout, 'builder1\n');
        assert.notEqual(os.hostname(), 'builder1');
      }
    });

    it('puts back exactly what the image had at those paths, even if the step changed them', async () => {
      const etc = path.join(root, 'etc');
      fs.writeFileSync(path.join(etc, 'hosts'), '10.0.0.1 image-host\n', { mode: 0o600 });
      fs.chownSync(path.join(etc, 'hosts'), 123, 456);
      fs.utimesSync(path.join(etc, 'hosts'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
      fs.symlinkSync('../run/resolv.conf', path.join(etc, 'resolv.conf'));
      fs.utimesSync(etc, new Date('2002-01-01T00:00:00Z'), new Date('2002-01-01T00:00:00Z'));
      const before = fs.statSync(etc).mtimeMs;
      const r = await runIn(iso, root, 'cat /etc/hosts | head -1; echo junk >> /etc/hosts; rm /etc/resolv.conf');
      assert.equal(r.stdout, '127.0.0.1\tlocalhost\n');
      const st = fs.lstatSync(path.join(etc, 'hosts'));
      assert.equal(fs.readFileSync(path.join(etc, 'hosts'), 'utf8'), '10.0.0.1 image-host\n');
      assert.deepEqual([st.mode & 0o7777, st.uid, st.gid, st.mtime.toISOString()], [0o600, 123, 456, '2001-02-03T04:05:06.000Z']);
      assert.equal(fs.readlinkSync(path.join(etc, 'resolv.conf')), '../run/resolv.conf');
      assert.equal(fs.existsSync(path.join(etc, 'hostname')), false);
      assert.equal(fs.statSync(etc).mtimeMs, before, '/etc keeps its mtime when only our files came and went');
    });

    if (noMount) {
      it('refuses --network=none and tmpfs mounts without CAP_SYS_ADMIN, naming it', async () => {
        await assert.rejects(runIn(iso, root, 'true', { network: 'none' }), /CAP_SYS_ADMIN/);
        await assert.rejects(runIn(iso, root, 'true', { tmpfs: ['/cache'] }), /tmpfs at \/cache needs a mount namespace, which needs CAP_SYS_ADMIN/);
      });

      it('copies directory mounts in for the step: a cache keeps what the step wrote, the image\'s own files come back', async () => {
        const cache = tmpDir('drydock-cache-mount-');
        fs.writeFileSync(path.join(cache, 'old'), 'from an earlier build\n');
        fs.mkdirSync(path.join(root, 'var/cache/app'), { recursive: true });
        fs.writeFileSync(path.join(root, 'var/cache/app/image-file'), 'the image\'s\n');
        // image directories carry whole-second times (from tar headers), which come back exactly
        fs.utimesSync(path.join(root, 'var/cache'), new Date(1e12), new Date(1e12));
        const varCache = fs.statSync(path.join(root, 'var/cache')).mtimeMs;
        const ro = tmpDir('drydock-ro-mount-');
        fs.writeFileSync(path.join(ro, 'in.txt'), 'bound\n');
        const r = await runIn(iso, root, 'cat /var/cache/app/old; ls /var/cache/app; echo new > /var/cache/app/new; cat /mnt/src/in.txt; echo kept > /kept', {
          binds: [{ source: cache, target: '/var/cache/app', readonly: false }, { source: ro, target: '/mnt/src', readonly: true }],
        });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(r.stdout, 'from an earlier build\nold\nbound\n', 'the step sees the cache, not the image\'s files under it');
        assert.deepEqual(fs.readdirSync(cache).sort(), ['new', 'old'], 'what the step wrote went back to the cache');
        assert.deepEqual(fs.readdirSync(path.join(root, 'var/cache/app')), ['image-file'], 'the image\'s own files are back');
        assert.equal(fs.statSync(path.join(root, 'var/cache')).mtimeMs, varCache, 'the parent keeps its times');
        assert.equal(fs.existsSync(path.join(root, 'mnt')), false, 'directories made for a mount are gone');
        assert.equal(fs.readFileSync(path.join(root, 'kept'), 'utf8'), 'kept\n');
        fs.rmSync(path.join(root, 'kept'));
      });

      it('moves a directory that is the build\'s alone (a cache) in and out, and copies it from another filesystem', async () => {
        const sameFs = tmpDir('drydock-cache-move-');
        fs.writeFileSync(path.join(sameFs, 'old'), 'cached\n');
        fs.chmodSync(sameFs, 0o750);
        const ino = fs.statSync(sameFs).ino;
        const otherFs = fs.mkdtempSync('/dev/shm/drydock-cache-copy-');
        assert.notEqual(fs.statSync(otherFs).dev, fs.statSync(root).dev, '/dev/shm is another filesystem');
        fs.writeFileSync(path.join(otherFs, 'old'), 'cached too\n');
        const scratch = tmpDir('drydock-rw-bind-');
        fs.writeFileSync(path.join(scratch, 'ctx.txt'), 'context copy\n');
        try {
          const r = await runIn(iso, root, 'cat /c1/old /c2/old /b/ctx.txt; stat -c %a /c1; echo new > /c1/new; echo new > /c2/new; echo dropped > /b/x', {
            binds: [
              { source: sameFs, target: '/c1', readonly: false, owned: 'keep' },
              { source: otherFs, target: '/c2', readonly: false, owned: 'keep' },
              { source: scratch, target: '/b', readonly: false, owned: 'discard' },
            ],
          });
          assert.equal(r.exitCode, 0, r.stderr);
          assert.equal(r.stdout, 'cached\ncached too\ncontext copy\n750\n');
          assert.equal(fs.statSync(sameFs).ino, ino, 'the same directory, moved there and back');
          assert.deepEqual(fs.readdirSync(sameFs).sort(), ['new', 'old']);
          assert.deepEqual(fs.readdirSync(otherFs).sort(), ['new', 'old'], 'copied back from the other filesystem');
          assert.equal(fs.existsSync(scratch), false, 'a discarded copy is gone with what the step wrote');
          for (const d of ['c1', 'c2', 'b']) assert.equal(fs.existsSync(path.join(root, d)), false, `/${d} is gone from the root`);
        } finally {
          fs.rmSync(otherFs, { recursive: true, force: true });
        }
      });

      it('never follows what a step left at a writable mount point out onto the host', async () => {
        for (const owned of ['keep', undefined] as const) {
          const cache = tmpDir('drydock-cache-evil-');
          fs.writeFileSync(path.join(cache, 'old'), 'x');
          const r = await runIn(iso, root, 'rm -rf /cache && ln -s /etc /cache', { binds: [{ source: cache, target: '/cache', readonly: false, owned }] });
          assert.equal(r.exitCode, 0, r.stderr);
          const st = fs.lstatSync(cache);
          assert.ok(st.isDirectory() && !st.isSymbolicLink(), `the cache is a directory again (${owned ?? 'copied'})`);
          assert.deepEqual(fs.readdirSync(cache), [], `nothing of the host's /etc came into the cache (${owned ?? 'copied'})`);
          assert.equal(fs.existsSync(path.join(root, 'cache')), false);
        }
      });

      it('never moves or copies a host directory into a cache whose parent the step rerouted', async () => {
        for (const owned of ['keep', undefined] as const) {
          const cache = tmpDir('drydock-cache-parent-');
          const victim = tmpDir('drydock-victim-');
          fs.mkdirSync(path.join(victim, 'c'));
          fs.writeFileSync(path.join(victim, 'c', 'key'), 'HOST-SECRET');
          const r = await runIn(iso, root, `rm -rf /a && ln -s ${victim} /a`, { binds: [{ source: cache, target: '/a/c', readonly: false, owned }] });
          assert.equal(r.exitCode, 0, r.stderr);
          assert.equal(fs.readFileSync(path.join(victim, 'c', 'key'), 'utf8'), 'HOST-SECRET', `the host directory stays (${owned ?? 'copied'})`);
          assert.ok(fs.lstatSync(cache).isDirectory(), 'the cache is a directory');
          assert.deepEqual(fs.readdirSync(cache), [], `nothing of the host came into the cache (${owned ?? 'copied'})`);
          fs.rmSync(path.join(root, 'a'), { force: true });
        }
      });

      it('supplies a file mount (a secret) as a copy for the step only, with its owner and mode', async () => {
        const secret = path.join(tmpDir(), 'token');
        fs.writeFileSync(secret, 'pssst\n', { mode: 0o400 });
        fs.chownSync(secret, 65534, 65534);
        const runBefore = fs.existsSync(path.join(root, 'run'));
        const r = await runIn(iso, root, 'cat /run/secrets/token; stat -c "%a %u" /run/secrets/token', {
          binds: [{ source: secret, target: '/run/secrets/token', readonly: true }],
        });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(r.stdout, 'pssst\n400 65534\n');
        assert.equal(fs.existsSync(path.join(root, 'run/secrets')), false, 'the secret and the directories made for it are gone');
        assert.equal(fs.existsSync(path.join(root, 'run')), runBefore);
        assert.ok(iso.transientPaths().includes('/run/secrets/token'), 'the snapshotter is told to skip it');
      });
    } else {
      it('--network=none leaves only loopback, up', async () => {
        const r = await runIn(iso, root, 'ls /sys/class/net; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "', { network: 'none' });
        assert.equal(r.stdout, 'lo\nlo\n');
        const h = await runIn(iso, root, 'cat /proc/net/dev | tail -n +3 | wc -l', { network: 'host' });
        assert.ok(Number(h.stdout.trim()) > 1, 'host network shows the host interfaces');
      });

      it('mounts /proc for its own pid namespace and /sys read-only', async () => {
        const r = await runIn(iso, root, 'echo $$; ls /proc | grep -c "^[0-9]"; touch /sys/x 2>/dev/null || echo sys-ro');
        assert.equal(r.stdout.split('\n')[0], '1');
        assert.ok(Number(r.stdout.split('\n')[1]) < 5);
        assert.match(r.stdout, /sys-ro/);
        assert.equal(fs.existsSync(path.join(root, 'proc')), false, 'the mount point we made is gone');
        // each with the options it is meant to have (mountinfo's 5th field: where, 6th: options)
        const m = await runIn(iso, root, 'cat /proc/self/mountinfo');
        const opts = Object.fromEntries(m.stdout.trim().split('\n').map((l) => l.split(' ')).map((f) => [f[4], f[5].split(',')]));
        const want: Record<string, string[]> = {
          '/proc': ['nosuid', 'nodev', 'noexec'], '/sys': ['ro', 'nosuid', 'nodev', 'noexec'], '/dev': ['nosuid', 'noexec'],
          '/dev/pts': ['nosuid', 'noexec'], '/dev/shm': ['nosuid', 'nodev', 'noexec'],
        };
        for (const [where, flags] of Object.entries(want)) {
          assert.ok(opts[where], `${where} is mounted (${Object.keys(opts).join(' ')})`);
          for (const f of flags) assert.ok(opts[where].includes(f), `${where} has ${f}: ${opts[where].join(',')}`);
        }
        assert.ok(!opts['/dev'].includes('nodev'), '/dev keeps its device nodes usable');
        // the root itself is nodev, and /proc's kernel settings and every mount below /sys read-only (runc's)
        assert.ok(opts['/']?.includes('nodev'), `/ is nodev: ${opts['/']?.join(',')}`);
        for (const p of ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'].filter((q) => fs.existsSync(q))) {
          assert.ok(opts[p]?.includes('ro'), `${p} is read-only: ${opts[p]?.join(',')}`);
        }
        assert.equal(m.stdout.split('\n').filter((l) => l.split(' ')[4] === '/proc/sys').length, 1, '/proc/sys is bound once');
        for (const [where, o] of Object.entries(opts)) if (where.startsWith('/sys/')) assert.ok(o.includes('ro'), `${where} is read-only: ${o.join(',')}`);
      });

      it('a root step that leaves its chroot (chroot + chdir ..) finds only the read-only jail, never the host\'s files', async function () {
        this.timeout(60000);
        const jroot = makeBusyboxRoot();
        const src = path.join(tmpDir('drydock-escape-'), 'escape.c');
        // the classic escape: chroot into a subdirectory, climb out of it, chroot to where that lands
        fs.writeFileSync(src, [
          '#include <stdio.h>', '#include <unistd.h>', '#include <sys/stat.h>', '#include <dirent.h>',
          'int main(int argc, char **argv) {',
          '  mkdir("x", 0755); if (chroot("x") != 0) { perror("chroot"); return 2; }',
          '  for (int i = 0; i < 64; i++) if (chdir("..") != 0) break;',
          '  if (chroot(".") != 0) { perror("chroot ."); return 2; }',
          '  FILE *f = fopen(argv[1], "r"); if (f) printf("ESCAPED\\n");',
          '  if (fopen("/planted", "w")) printf("WROTE\\n");',
          '  DIR *d = opendir("/"); struct dirent *e; while (d && (e = readdir(d))) printf("/%s\\n", e->d_name);',
          '  return 0;', '}', ''].join('\n'));
        run('gcc', ['-static', '-O1', '-o', path.join(jroot, 'tmp/escape'), src]);
        const marker = path.join(tmpDir('drydock-host-'), 'marker');
        fs.writeFileSync(marker, 'host');
        const r = await runIn(iso, jroot, `cd /tmp && ./escape ${marker}`);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /ESCAPED|WROTE/);
        assert.deepEqual(r.stdout.trim().split('\n').filter((l) => !['/.', '/..'].includes(l)).sort().slice(0, 3), ['/.old', '/.ready', '/bin'], r.stdout);
        assert.ok(r.stdout.includes('/image\n'), r.stdout);
      });

      it('keeps a step from the host\'s kernel settings and from devices it makes itself', async () => {
        const r = await runIn(iso, root, 'v=$(cat /proc/sys/vm/swappiness); echo "$v" > /proc/sys/vm/swappiness && echo wrote-sysctl; '
          + 'mknod /tmp/null2 c 1 3 && { echo x > /tmp/null2 && echo opened-device; }; rm -f /tmp/null2; true');
        assert.equal(r.exitCode, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /wrote-sysctl/, r.stderr);
        assert.doesNotMatch(r.stdout, /opened-device/, r.stderr);
        assert.match(r.stderr, /Read-only file system/);
        // nodev refuses the open; in a user namespace mknod itself is refused
        assert.match(r.stderr, /Permission denied|Operation not permitted/);
      });

      it('runs in a root whose path has a space and a backslash', async () => {
        const odd = path.join(tmpDir(), 'a root\\with space');
        fs.renameSync(makeBusyboxRoot(), odd);
        const r = await runIn(iso, odd, 'echo x > /dev/shm/y && cat /dev/shm/y && ls /proc/self/fd >/dev/null && echo ok');
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(r.stdout, 'x\nok\n');
        // the table that mounted them names that path as util-linux reads it
        const table = fstabFile([['tmpfs', path.join(odd, 'dev'), 'tmpfs', 'mode=0755'], ['proc', path.join(odd, 'proc'), 'proc', 'nosuid']])!;
        assert.equal(run('findmnt', ['--fstab', '--tab-file', table, '-n', '-o', 'TARGET']), `${path.join(odd, 'dev')}\n${path.join(odd, 'proc')}\n`);
      });

      if (shape.ns === 'userns') {
        it('maps IDs to themselves: what a step writes, as whom, keeps its real owner; /proc/self works', async () => {
          const r = await runIn(iso, root, 'touch /tmp/by-user && readlink /proc/self/exe && id -u', { uid: 12345, gid: 23456 });
          assert.equal(r.exitCode, 0, r.stderr);
          assert.equal(r.stdout, '/bin/busybox\n12345\n');
          const st = fs.statSync(path.join(root, 'tmp/by-user'));
          assert.deepEqual([st.uid, st.gid], [12345, 23456]);
          const c = await runIn(iso, root, 'touch /tmp/chowned && chown 4321:8765 /tmp/chowned && stat -c "%u %g" /tmp/chowned');
          assert.equal(c.stdout, '4321 8765\n');
          assert.deepEqual([fs.statSync(path.join(root, 'tmp/chowned')).uid, fs.statSync(path.join(root, 'tmp/chowned')).gid], [4321, 8765]);
          fs.rmSync(path.join(root, 'tmp/by-user'));
          fs.rmSync(path.join(root, 'tmp/chowned'));
        });

        it('a step whose user namespace could not be given its IDs stops before it runs, and the build hears why', async () => {
          const shell = findHostTools().sh!;
          const ran = path.join(tmpDir(), 'ran');
          await assert.rejects(
            runProcess([shell, '-c', [...GATE_LINES, `touch ${ran}`].join('\n')], null, { PATH: '/usr/bin:/bin' }, { gate: () => { throw new Error('no map for you'); } }),
            /no map for you/,
          );
          assert.equal(fs.existsSync(ran), false, 'the step did not run');
          // let through, the step does not inherit the socket
          const ok = await runProcess([shell, '-c', [...GATE_LINES, '{ true >&3; } 2>/dev/null && exit 9; exit 0'].join('\n')], null, { PATH: '/usr/bin:/bin' }, { gate: () => undefined });
          assert.equal(ok.exitCode, 0, `fd 3 closed before the step: ${ok.stderrText}`);
        });
      }

      it('binds host directories (read-only when asked) and tmpfs for the step only', async () => {
        const src = tmpDir();
        fs.writeFileSync(path.join(src, 'secret'), 's3cr3t\n');
        const r = await runIn(iso, root, 'cat /run/secrets/secret; touch /run/secrets/x 2>/dev/null || echo ro; touch /cache/y && echo tmpfs-ok', {
          binds: [{ source: src, target: '/run/secrets', readonly: true }], tmpfs: ['/cache'],
        });
        assert.equal(r.stdout, 's3cr3t\nro\ntmpfs-ok\n');
        assert.equal(fs.existsSync(path.join(root, 'cache')), false);
        assert.equal(fs.existsSync(path.join(root, 'run/secrets')), false);
      });
    }
  });
}

describe('chroot isolation launchers for hosts without util-linux', function () {
  this.timeout(20000);
  const tools = findHostTools();
  for (const launcher of ['coreutils', 'busybox'] as Launcher[]) {
    it(`${launcher}: runs in the workdir through the image's /bin/sh`, async () => {
      const root = makeBusyboxRoot();
      const iso = new ChrootIsolation({ caps: readCapabilities(), tools, mountNamespace: false, launcher });
      const r = await runIn(iso, root, 'pwd; id -u', { workdir: '/w' });
      assert.equal(r.stdout, '/w\n0\n');
      if (launcher === 'coreutils') {
        assert.equal((await runIn(iso, root, 'id -u; id -G', { uid: 5, gid: 6, groups: [7] })).stdout, '5\n6 7\n');
      } else {
        await assert.rejects(runIn(iso, root, 'id', { uid: 5, gid: 5 }), /cannot change user; install util-linux/);
      }
    });
  }
});
