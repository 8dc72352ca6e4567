// RUN end to end: the step's changes become one layer (deletions as whiteouts), mounts reach the
// step and nothing else (a secret never lands in a layer, the history or the log), cache mounts
// persist between builds, --single-snapshot makes one layer.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext, runExecutor, umociUnpack } from '../../support/executor';
import { pushBaseImages, run, startRegistry, tmpDir, type Registry } from '../../support/testbed';

/** Every byte of every blob of an OCI layout, gunzipped where needed, as one string. */
function layoutText(layout: string): string {
  const dir = path.join(layout, 'blobs/sha256');
  return fs.readdirSync(dir).map((f) => {
    const p = path.join(dir, f);
    const raw = fs.readFileSync(p);
    return raw[0] === 0x1f && raw[1] === 0x8b ? run('sh', ['-c', `gzip -dc < '${p}'`]) : raw.toString('latin1');
  }).join('\n');
}

/** Asks the agent at $SSH_AUTH_SOCK for its identities (the agent protocol's message 11) and prints how many. */
const AGENT_QUERY_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void) {
  const char *p = getenv("SSH_AUTH_SOCK");
  if (!p) { fputs("no SSH_AUTH_SOCK\\n", stderr); return 2; }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a; memset(&a, 0, sizeof a); a.sun_family = AF_UNIX; strncpy(a.sun_path, p, sizeof a.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 3; }
  unsigned char req[5] = {0, 0, 0, 1, 11};
  if (write(fd, req, 5) != 5) { perror("write"); return 4; }
  unsigned char h[9]; size_t got = 0;
  while (got < 9) { ssize_t n = read(fd, h + got, 9 - got); if (n <= 0) { perror("read"); return 5; } got += n; }
  if (h[4] != 12) { fprintf(stderr, "unexpected reply %d\\n", h[4]); return 6; }
  printf("identities %u\\n", (unsigned)((h[5] << 24) | (h[6] << 16) | (h[7] << 8) | h[8]));
  return 0;
}
`;

describe('executor: RUN', function () {
  this.timeout(120000);
  let reg: Registry;
  before(async () => {
    reg = await startRegistry('plain');
    await pushBaseImages(reg);
  });

  it('runs shell, exec and heredoc forms as the image user, with deletions as whiteouts', async () => {
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest`,
        'ARG WHO=builder',
        'ENV GREETING=hi',
        'WORKDIR /work',
        'RUN echo "$GREETING $WHO from $(pwd)" > /work/out.txt && rm -r /bin/vi /root',
        'RUN ["/bin/sh", "-c", "id -u > /work/uid-root"]',
        'USER nobody',
        'RUN id -u > /tmp/uid-nobody',
        'USER root',
        'RUN <<EOF',
        'set -e',
        'echo "heredoc $GREETING" > /work/heredoc.txt',
        'EOF',
        'RUN cat <<EOF > /work/inline.txt',
        'inline',
        'EOF',
      ].join('\n'),
    });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    const read = (p: string) => fs.readFileSync(path.join(rootfs, p), 'utf8');
    assert.equal(read('work/out.txt'), 'hi builder from /work\n');
    assert.equal(read('work/uid-root'), '0\n');
    assert.equal(read('tmp/uid-nobody'), '65534\n');
    assert.equal(read('work/heredoc.txt'), 'heredoc hi\n');
    assert.equal(read('work/inline.txt'), 'inline\n');
    assert.equal(fs.existsSync(path.join(rootfs, 'bin/vi')), false, 'deleted file is whited out');
    assert.equal(fs.existsSync(path.join(rootfs, 'root')), false, 'deleted directory is whited out');
    assert.equal(fs.existsSync(path.join(rootfs, 'etc/resolv.conf')), false, 'the step\'s resolv.conf is not left in a layer');
  });

  it('runs as uid 0 without USER in an image that has no /etc/passwd (FROM scratch), leaving no /etc, /dev, /proc or /sys behind', async () => {
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest AS bb`,
        'FROM scratch',
        'COPY --from=bb /bin/busybox /bin/sh',
        'RUN ["/bin/sh", "-c", "echo $(/bin/sh -c \'id -u\' 2>/dev/null || echo 0) > /ran-as && echo hi > /x"]',
      ].join('\n'),
    });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    assert.equal(fs.readFileSync(path.join(rootfs, 'x'), 'utf8'), 'hi\n');
    assert.deepEqual(fs.readdirSync(rootfs).sort(), ['bin', 'ran-as', 'x'], 'the step\'s mount points and files are not in the image');
  });

  it('as in a container under Docker\'s seccomp profile (no mounts, no user namespace): /dev/stdout works, nothing a step writes into /dev, /proc or /sys reaches a layer, and they are not whited out', async () => {
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest`,
        'RUN echo to-stdout > /dev/stdout && touch /dev/foo /proc/bar /sys/baz && mkdir /dev/dd && echo kept > /kept',
        'RUN (sleep 30 &) ; echo left-one-running',
      ].join('\n'),
    });
    const layout = tmpDir('drydock-layout-');
    const t0 = Date.now();
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout], {
      under: ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--'], env: { DRYDOCK_NO_USERNS: '1' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /mount namespace: no/, 'the plain shape');
    assert.match(r.stdout + r.stderr, /to-stdout/);
    assert.ok(Date.now() - t0 < 25000, 'the build did not wait for what a step left running');
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    const names = manifest.layers.slice(1).flatMap((l: { digest: string }) => run('tar', ['-tf', path.join(layout, 'blobs/sha256', l.digest.slice(7))]).split('\n').filter(Boolean));
    assert.deepEqual(names.filter((n: string) => /^(\.\/)?(dev|proc|sys)\b|\.wh\.(dev|proc|sys)$/.test(n)), [], `RUN layers: ${names.join(' ')}`);
    assert.ok(names.some((n: string) => /(^|\/)kept$/.test(n)));
  });

  it('secret, cache and bind mounts reach the step only; the secret appears nowhere', async () => {
    const secretValue = 's3cr3t-value-4242';
    const secretFile = path.join(tmpDir(), 'token');
    fs.writeFileSync(secretFile, secretValue);
    const cacheDir = tmpDir('drydock-cache-');
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest`,
        'RUN --mount=type=secret,id=token test "$(cat /run/secrets/token)" = "' + secretValue.slice(0, 6) + '$(cat /run/secrets/token | cut -c7-)" && echo "secret seen" > /secret-seen && cat /run/secrets/token',
        'RUN --mount=type=secret,id=token,env=TOKEN sh -c \'test -n "$TOKEN" && echo ok > /env-seen\'',
        'RUN --mount=type=cache,target=/var/cache/app sh -c \'n=$(cat /var/cache/app/count 2>/dev/null || echo 0); echo $((n+1)) > /var/cache/app/count; cp /var/cache/app/count /count\'',
        'RUN --mount=type=bind,source=data,target=/mnt/data cp /mnt/data/in.txt /from-bind.txt',
      ].join('\n'),
      'data/in.txt': 'bound\n',
    });
    const counts: string[] = [];
    for (let k = 0; k < 2; k++) {
      const layout = tmpDir('drydock-layout-');
      const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, '--secret', `id=token,src=${secretFile}`, '--cache-dir', cacheDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(secretValue) && !r.stderr.includes(secretValue), 'secret not in the log');
      assert.match(r.stdout, /\*\*\*/, 'the step printed the secret, and the log masked it');
      assert.ok(!layoutText(layout).includes(secretValue), 'secret in no blob (layers, config, history)');
      const { rootfs } = umociUnpack(layout, 'latest');
      assert.equal(fs.readFileSync(path.join(rootfs, 'secret-seen'), 'utf8'), 'secret seen\n');
      assert.equal(fs.readFileSync(path.join(rootfs, 'env-seen'), 'utf8'), 'ok\n');
      assert.equal(fs.readFileSync(path.join(rootfs, 'from-bind.txt'), 'utf8'), 'bound\n');
      assert.equal(fs.existsSync(path.join(rootfs, 'run/secrets/token')), false);
      assert.equal(fs.existsSync(path.join(rootfs, 'var/cache/app/count')), false, 'cache mount content stays out of the layer');
      counts.push(fs.readFileSync(path.join(rootfs, 'count'), 'utf8').trim());
    }
    assert.deepEqual(counts, ['1', '2'], 'the cache mount persists between builds');
  });

  it('a bind mount source that is a link resolves inside the context, never out onto the host', async () => {
    const ctx = makeContext({
      Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN --mount=type=bind,source=good,target=/g cp /g/in.txt /via-link.txt\n`,
      'data/in.txt': 'linked\n',
    });
    fs.symlinkSync('data', path.join(ctx, 'good'));
    const layout = tmpDir('drydock-layout-');
    const ok = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(fs.readFileSync(path.join(umociUnpack(layout, 'latest').rootfs, 'via-link.txt'), 'utf8'), 'linked\n');
    // an absolute link restarts at the context's root: /etc there does not exist
    fs.symlinkSync('/etc', path.join(ctx, 'evil'));
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${reg.host}/library/busybox:latest\nRUN --mount=type=bind,source=evil,target=/x cat /x/hostname\n`);
    const bad = await runExecutor(['-c', ctx, '--no-push']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--mount=type=bind: source "evil" not found in the build context/);
  });

  it('a bind mount of the context shows what .dockerignore leaves in, as BuildKit would', async () => {
    const ctx = makeContext({
      Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN --mount=type=bind,target=/ctx cd /ctx && find . -type f | sort > /seen.txt\n`,
      '.dockerignore': '*.log\n!keep.log\nbuild/\n',
      'src/a.txt': 'a\n', 'debug.log': 'x\n', 'keep.log': 'k\n', 'build/out.bin': 'o\n',
    });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(umociUnpack(layout, 'latest').rootfs, 'seen.txt'), 'utf8'), './.dockerignore\n./Dockerfile\n./keep.log\n./src/a.txt\n');
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${reg.host}/library/busybox:latest\nRUN --mount=type=bind,source=debug.log,target=/d cat /d\n`);
    const bad = await runExecutor(['-c', ctx, '--no-push']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /source "debug.log" not found in the build context \(.dockerignore leaves it out\)/);
  });

  it('a step\'s capabilities are bounded by Docker\'s default set; RUN --security=insecure keeps all, once --allow security.insecure says so', async () => {
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest`,
        'RUN grep CapBnd /proc/self/status > /sandbox.txt',
        'RUN --security=insecure grep CapBnd /proc/self/status > /insecure.txt',
        'RUN --security=sandbox grep CapBnd /proc/self/status > /sandbox-named.txt',
      ].join('\n'),
    });
    const refused = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', tmpDir('drydock-layout-')]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Dockerfile:3: RUN --security=insecure keeps every capability of the executor for the step: allow it with --allow security.insecure/);
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, '--allow', 'security.insecure']);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    const read = (p: string) => fs.readFileSync(path.join(rootfs, p), 'utf8').trim();
    // Docker's default set: chown dac_override fowner fsetid kill setgid setuid setpcap net_bind_service net_raw sys_chroot mknod audit_write setfcap
    assert.equal(read('sandbox.txt'), 'CapBnd:\t00000000a80425fb');
    assert.equal(read('sandbox-named.txt'), 'CapBnd:\t00000000a80425fb');
    const ours = /CapBnd:\t([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
    assert.equal(read('insecure.txt'), `CapBnd:\t${ours}`, 'all the executor has (root here)');
    const bad = await runExecutor(['-c', ctx, '--no-push', '--allow', 'network.everything']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid value "network.everything" for --allow: expected security.insecure/);
  });

  it('RUN --mount=type=ssh lets the step use an SSH agent of the host (with and without a mount namespace), and leaves nothing in the image', async function () {
    // a real ssh-agent holding one key, and a static client that asks it for its identities
    const tmp = tmpDir('drydock-ssh-');
    const sock = path.join(tmp, 'agent.sock');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(tmp, 'key')]);
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      run('ssh-add', ['-q', path.join(tmp, 'key')], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const ctx = makeContext({
        'agentq.c': AGENT_QUERY_C,
        Dockerfile: [
          `FROM ${reg.host}/library/busybox:latest`,
          'COPY agentq /usr/local/bin/agentq',
          'RUN --mount=type=ssh agentq > /default.txt && echo "$SSH_AUTH_SOCK" > /sock-path.txt',
          'RUN --mount=type=ssh,id=build,target=/tmp/a.sock,uid=65534,mode=0600 su -s /bin/sh nobody -c "SSH_AUTH_SOCK=/tmp/a.sock agentq" > /as-nobody.txt',
          'RUN --mount=type=ssh,id=absent agentq > /absent.txt 2>&1 || echo "no agent" > /absent.txt',
        ].join('\n'),
      });
      run('gcc', ['-static', '-O2', '-o', path.join(ctx, 'agentq'), path.join(ctx, 'agentq.c')]);
      for (const shape of ['mount namespace', 'no mount namespace', 'user namespace'] as const) {
        const layout = tmpDir('drydock-layout-');
        const args = ['-c', ctx, '--no-push', '--oci-layout-path', layout, '--ssh', 'default', '--ssh', `build=${sock}`];
        const under = shape === 'mount namespace' ? undefined : ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--'];
        const r = await runExecutor(args, { env: { SSH_AUTH_SOCK: sock, DRYDOCK_NO_USERNS: shape === 'no mount namespace' ? '1' : '' }, under });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, { 'mount namespace': /mount namespace: yes,/, 'no mount namespace': /mount namespace: no,/, 'user namespace': /mount namespace: yes, in a user namespace/ }[shape]);
        assert.match(r.stderr, /no SSH agent "absent" was given/);
        const { rootfs } = umociUnpack(layout, 'latest');
        const read = (p: string) => fs.readFileSync(path.join(rootfs, p), 'utf8');
        assert.equal(read('default.txt'), 'identities 1\n', shape);
        assert.equal(read('sock-path.txt'), '/run/buildkit/ssh_agent.0\n');
        assert.equal(read('as-nobody.txt'), 'identities 1\n', 'uid= lets a non-root user reach it');
        assert.equal(read('absent.txt'), 'no agent\n');
        assert.ok(!fs.existsSync(path.join(rootfs, 'run/buildkit')) && !fs.existsSync(path.join(rootfs, 'tmp/a.sock')), 'no socket or mount point in the image');
      }
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${reg.host}/library/busybox:latest\nRUN --mount=type=ssh,required true\n`);
      const missing = await runExecutor(['-c', ctx, '--no-push']);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /Dockerfile:2: --mount=type=ssh is required but no agent was given \(use --ssh default\[=SOCKET\]\)/);
      const notSocket = await runExecutor(['-c', ctx, '--no-push', '--ssh', `default=${path.join(tmp, 'key')}`]);
      assert.match(notSocket.stderr, /not a socket: give an SSH agent's socket \(key files are not read/);
    } finally {
      agent.kill();
    }
  });

  // In a container that may neither mount nor make a user namespace (Docker's seccomp profile;
  // here CAP_SYS_ADMIN dropped and DRYDOCK_NO_USERNS=1) a step has no /proc: a failing step says so.
  it('a step that fails where steps have no /proc says what they lack and the ways out', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN readlink /proc/self/exe\n` });
    const under = ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--'];
    const plain = await runExecutor(['-c', ctx, '--no-push'], { under, env: { DRYDOCK_NO_USERNS: '1' } });
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /Dockerfile:2: RUN readlink \/proc\/self\/exe failed: exit code 1 \(note: RUN steps here have no \/proc .*--isolation=none\)/);
    const userns = await runExecutor(['-c', ctx, '--no-push'], { under });
    assert.equal(userns.code, 0, `in a user namespace the step has /proc: ${userns.stderr}`);
    const failing = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN false\n` });
    const host = await runExecutor(['-c', failing, '--no-push']);
    assert.match(host.stderr, /RUN false failed: exit code 1\n/, 'no note where steps lack nothing');
  });

  it('a WORKDIR that makes its directory under a USER the image lacks says which WORKDIR and USER', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nUSER nobody:nogroup\nWORKDIR /srv\n` });
    const r = await runExecutor(['-c', ctx, '--no-push']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Dockerfile:3: WORKDIR \/srv under USER nobody:nogroup: unable to find group nogroup: no matching entries in the image's \/etc\/group/);
  });

  it('a required secret that was not given fails clearly', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc\n` });
    const r = await runExecutor(['-c', ctx, '--no-push']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Dockerfile:2: secret "npmrc" is required but was not given/);
  });

  it('a stage that only lends files runs without snapshots; stages built FROM another keep its layers', async () => {
    const busybox = `${reg.host}/library/busybox:latest`;
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${busybox} AS base`,
        'RUN echo base > /base.txt && rm /bin/vi',
        'FROM base AS builder',
        'COPY src.txt /src.txt',
        'RUN mkdir /out && cat /base.txt /src.txt > /out/built.txt && rm /base.txt',
        `FROM ${busybox}`,
        'COPY --from=builder /out /app/',
        'RUN ls /app > /listing.txt',
      ].join('\n'),
      'src.txt': 'src\n',
    });
    for (const cache of [false, true]) {
      const layout = tmpDir('drydock-layout-');
      const cacheFlags = cache ? ['--cache', '--cache-repo', `oci:${tmpDir('drydock-cache-')}`] : [];
      const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, '--verbosity', 'debug', ...cacheFlags]);
      assert.equal(r.code, 0, r.stderr);
      const log = r.stdout + r.stderr;
      // base is FROM'd by builder: its RUN is snapshotted; builder only lends /out: no snapshot,
      // unless its layers are wanted for the layer cache
      assert.match(log, /Dockerfile:2: snapshot/);
      assert.equal(/Dockerfile:5: snapshot/.test(log), cache, log);
      assert.equal(/stage builder: only lends files/.test(log), !cache);
      assert.doesNotMatch(log, /stage base: only lends files/);
      // the first and the last stage are FROM the same tag: resolved once
      assert.equal(log.match(/resolved .*busybox:latest to sha256:/g)?.length, 1, log);
      const { rootfs } = umociUnpack(layout, 'latest');
      assert.equal(fs.readFileSync(path.join(rootfs, 'app/built.txt'), 'utf8'), 'base\nsrc\n');
      assert.equal(fs.readFileSync(path.join(rootfs, 'listing.txt'), 'utf8'), 'built.txt\n');
      assert.equal(fs.existsSync(path.join(rootfs, 'base.txt')), false);
      assert.ok(fs.existsSync(path.join(rootfs, 'bin/vi')), 'the final stage is FROM busybox, not base');
    }
  });

  it('keeps the file capability and user.* attributes a RUN sets, through a later RUN over a stage FROM it and COPY --from (read back by GNU tar)', async function () {
    this.timeout(300000);
    await pushBaseImages(reg, 'debian');
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/debian:bookworm-slim AS capped`,
        // the host's setfattr needs only libc, which the Debian image has
        'COPY setfattr /usr/local/bin/setfattr',
        'RUN cp /bin/true /usr/local/bin/pingish && setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 /usr/local/bin/pingish && setfattr -n user.note -v hello /usr/local/bin/pingish',
        // this stage's root is unpacked from the layers above: the attributes must be set there
        // for the RUN's copy of the file (overlay copy-up) to keep them
        'FROM capped',
        'RUN chmod 0711 /usr/local/bin/pingish',
        'COPY --from=capped /usr/local/bin/pingish /copied',
      ].join('\n'),
    });
    fs.copyFileSync('/usr/bin/setfattr', path.join(ctx, 'setfattr'));
    fs.chmodSync(path.join(ctx, 'setfattr'), 0o755);
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /extended attributes/);
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const blob = (d: string) => path.join(layout, 'blobs/sha256', d.replace('sha256:', ''));
    const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
    const layers: Array<[string, { digest: string }, string]> = [
      ['the RUN that set them', manifest.layers.at(-3), 'usr/local/bin/pingish'],
      ['the later RUN', manifest.layers.at(-2), 'usr/local/bin/pingish'],
      ['COPY --from', manifest.layers.at(-1), 'copied'],
    ];
    for (const [which, layer, rel] of layers) {
      const out = tmpDir('drydock-xattr-out-');
      run('tar', ['--xattrs', '--xattrs-include=*', '-xf', blob(layer.digest), '-C', out]);
      const file = path.join(out, rel);
      const dump = run('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'hex', file]);
      assert.match(dump, /security\.capability=0x0100000200200000000000000000000000000000/, which);
      assert.match(dump, /user\.note=0x68656c6c6f/, which);
      if (which === 'the later RUN') assert.equal(fs.statSync(file).mode & 0o7777, 0o711);
    }
  });

  it('--single-snapshot makes one layer per stage over the base', async () => {
    const ctx = makeContext({
      Dockerfile: `FROM ${reg.host}/library/busybox:latest\nCOPY a.txt /a.txt\nRUN echo b > /b.txt && rm /bin/vi\nRUN echo c > /c.txt\n`,
      'a.txt': 'a\n',
    });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--single-snapshot', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const inspect = JSON.parse(run('skopeo', ['inspect', `oci:${layout}:latest`]));
    assert.equal(inspect.Layers.length, 2, 'the base layer and one snapshot');
    const { rootfs } = umociUnpack(layout, 'latest');
    for (const [f, c] of [['a.txt', 'a\n'], ['b.txt', 'b\n'], ['c.txt', 'c\n']]) assert.equal(fs.readFileSync(path.join(rootfs, f), 'utf8'), c);
    assert.equal(fs.existsSync(path.join(rootfs, 'bin/vi')), false);
  });
});
