// The builder sidecar for real: `drydock serve` on a unix socket, and `executor` with
// DRYDOCK_REMOTE in another process (another container of the task, in production), building
// against the loopback registry. The result is read back by umoci.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext, runExecutor, umociUnpack } from '../../support/executor';
import { pushBaseImages, REPO_ROOT, run, startRegistry, tmpDir, type Registry } from '../../support/testbed';

const DRYDOCK = path.join(REPO_ROOT, 'bin/drydock');

describe('builder sidecar (drydock serve, executor with DRYDOCK_REMOTE)', function () {
  this.timeout(120000);
  let reg: Registry;
  let dir: string;
  let socket: string;
  let server: ChildProcess;
  let serverLog = '';
  let builderConfig: string;
  const processesWith = (cmdline: string) => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === cmdline; } catch { return false; }
  });
  const settle = async (ok: () => boolean) => { for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50)); };

  before(async () => {
    reg = await startRegistry('plain');
    await pushBaseImages(reg);
    dir = tmpDir('drydock-sidecar-');
    socket = path.join(dir, 'run', 'builder.sock');
    // a client of another uid must reach the socket (a volume shared by two containers)
    for (const d of [path.dirname(dir), dir]) fs.chmodSync(d, 0o711);
    // the builder's own registry credentials, which no client may read
    builderConfig = tmpDir('drydock-builder-docker-');
    fs.writeFileSync(path.join(builderConfig, 'config.json'), '{"auths":{"builder.example":{"auth":"YnVpbGRlcjpzM2NyZXQ="}}}');
    // DRYDOCK_REMOTE in the server's own environment must not send its builds back to itself
    server = spawn(DRYDOCK, ['serve', '--socket', socket, '--socket-mode', '0666'], { env: { ...process.env, DOCKER_CONFIG: builderConfig, DRYDOCK_REMOTE: socket, BUILDER_ONLY: 'the builder\'s', TOKEN: 'the builder\'s token' }, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (d) => { serverLog += d; });
    server.stdout!.on('data', (d) => { serverLog += d; });
    await settle(() => /listening on/.test(serverLog));
    assert.match(serverLog, /builder sidecar listening on .*builder\.sock \(mode 0666\)/);
  });
  after(async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('close', r));
    assert.equal(fs.existsSync(socket), false, 'the socket is removed when the sidecar stops');
  });

  const remote = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => runExecutor(args, { cwd, env: { DRYDOCK_REMOTE: socket, ...env } });

  it('answers its health check, and its socket has the mode asked for', async () => {
    assert.equal(fs.statSync(socket).mode & 0o777, 0o666);
    assert.equal((await runExecutor(['remote', '--health', '--socket', socket], { bin: 'drydock' })).code, 0);
    assert.equal((await runExecutor(['remote', '--health', '--socket', path.join(dir, 'nothing.sock')], { bin: 'drydock' })).code, 1);
  });

  it('runs a build there: relative paths from the client\'s directory, build args from its environment, the output and exit code back here', async () => {
    const ctx = makeContext({
      Dockerfile: `FROM ${reg.host}/library/busybox:latest\nARG FROM_ENV\nARG BUILDER_ONLY=unset\nCOPY app.txt /app.txt\nRUN echo "ran with $FROM_ENV, $BUILDER_ONLY" > /ran.txt && echo to-stdout && echo to-stderr >&2\n`,
      'app.txt': 'shipped\n',
    });
    // BUILDER_ONLY is set in the builder's environment only: a build arg without a value is the client's (unset), never the builder's
    const r = await remote(['--context', path.basename(ctx), '--build-arg', 'FROM_ENV', '--build-arg=BUILDER_ONLY', '--no-push', '--oci-layout-path', 'out'], path.dirname(ctx), { FROM_ENV: 'the client', DOCKER_CONFIG: tmpDir('drydock-no-docker-config-') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /to-stdout/);
    assert.match(r.stderr, /to-stderr/);
    assert.match(r.stderr, /built linux\/amd64 image sha256:/);
    assert.doesNotMatch(r.stderr, /is not read: builds in the sidecar use the builder's registry credentials/, 'no config.json here, no note');
    const { rootfs } = umociUnpack(path.join(path.dirname(ctx), 'out'), 'latest');
    assert.equal(fs.readFileSync(path.join(rootfs, 'ran.txt'), 'utf8'), 'ran with the client, unset\n');
    assert.equal(fs.readFileSync(path.join(rootfs, 'app.txt'), 'utf8'), 'shipped\n');
    // then push what it kept: the builder pushes too (it holds the credentials)
    const dest = `${reg.host}/sidecar/pushed:1`;
    const before = (serverLog.match(/started in /g) ?? []).length;
    const pushed = await remote(['push', 'out', '-d', dest, '--digest-file', 'pushed.digest'], path.dirname(ctx));
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal((serverLog.match(/started in /g) ?? []).length, before + 1, 'the push ran in the builder');
    const digest = fs.readFileSync(path.join(path.dirname(ctx), 'pushed.digest'), 'utf8').trim();
    assert.equal(JSON.parse(run('skopeo', ['inspect', '--tls-verify=false', `docker://${dest}`])).Digest, digest);
  });

  it('gives a build the client\'s secrets (from its environment, never the builder\'s), and no layer or log holds them', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN --mount=type=secret,id=tok,required=true md5sum < /run/secrets/tok > /tok.md5\n` });
    const value = 'client-s3cret-value';
    const r = await remote(['--context', ctx, '--secret', 'id=tok,env=TOKEN', '--no-push', '--oci-layout-path', 'secret-out'], dir, { TOKEN: value });
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(path.join(dir, 'secret-out'), 'latest');
    assert.equal(fs.readFileSync(path.join(rootfs, 'tok.md5'), 'utf8').split(' ')[0], createHash('md5').update(value).digest('hex'));
    assert.ok(!r.stderr.includes(value) && !r.stdout.includes(value) && !serverLog.includes(value), 'not in any log');
    const unset = await remote(['--context', ctx, '--secret', 'id=tok,env=TOKEN', '--no-push'], dir);
    assert.notEqual(unset.code, 0, 'unset in the client: not given, even though the builder has a TOKEN');
    assert.match(unset.stderr, /secret "tok" is required but was not given/);
  });

  it('gives what the build wrote for a non-root client (layout, digest file) to that client, only in directories it owns', async () => {
    const ws = tmpDir('drydock-sidecar-ws-');
    fs.chmodSync(ws, 0o755);
    const mine = path.join(ws, 'job');
    fs.mkdirSync(mine);
    fs.cpSync(path.join(REPO_ROOT, 'images/hello'), path.join(mine, 'ctx'), { recursive: true });
    fs.chownSync(mine, 1234, 1234);
    const r = await runExecutor(['--context', 'ctx', '--no-push', '--oci-layout-path', 'out', '--digest-file', 'digest', '--image-name-with-digest-file', 'made/for/it/names'], {
      cwd: mine, env: { DRYDOCK_REMOTE: socket }, under: ['setpriv', '--reuid=1234', '--regid=1234', '--clear-groups', '--'],
    });
    assert.equal(r.code, 0, r.stderr);
    const owners = (p: string): string[] => {
      const st = fs.lstatSync(p);
      return [`${st.uid}:${st.gid}`, ...(st.isDirectory() ? fs.readdirSync(p).flatMap((n) => owners(path.join(p, n))) : [])];
    };
    assert.deepEqual([...new Set(owners(path.join(mine, 'out')))], ['1234:1234'], 'the whole layout');
    assert.deepEqual(owners(path.join(mine, 'digest')), ['1234:1234']);
    assert.deepEqual([...new Set(owners(path.join(mine, 'made')))], ['1234:1234'], 'the directories made for an output too');
  });

  it('writes outputs only where the client could itself: never through a symlink, into a directory it may not write, or over a file that is not its', async () => {
    const ws = tmpDir('drydock-sidecar-out-');
    fs.chmodSync(ws, 0o755);
    const mine = path.join(ws, 'job');
    fs.mkdirSync(mine);
    fs.cpSync(path.join(REPO_ROOT, 'images/hello'), path.join(mine, 'ctx'), { recursive: true });
    const victim = tmpDir('drydock-sidecar-victim-');
    fs.chmodSync(victim, 0o777);
    fs.writeFileSync(path.join(victim, 'file'), 'root\'s\n');
    fs.symlinkSync(victim, path.join(mine, 'link'));
    fs.symlinkSync(path.join(victim, 'file'), path.join(mine, 'planted.tar'));
    fs.writeFileSync(path.join(mine, 'roots'), 'root\'s\n');
    for (const p of [mine, path.join(mine, 'ctx')]) fs.chownSync(p, 1234, 1234);
    const refused: Array<[string[], RegExp]> = [
      [['--digest-file', 'link/digest'], /--digest-file link\/digest: .*\/job\/link is a symlink; the sidecar writes outputs only where no symlink leads/],
      [['--tar-path', 'planted.tar'], /--tar-path planted\.tar: .*planted\.tar is a symlink/],
      [['--oci-layout-path', 'link/out'], /is a symlink/],
      [['--image-name-with-digest-file', '../not-mine'], /--image-name-with-digest-file \.\.\/not-mine: uid 1234 may not write in .*drydock-sidecar-out-/],
      [['--digest-file', 'roots'], /--digest-file roots: uid 1234 may not write it/],
      [['--digest-file', '/proc/self/fd/0'], /--digest-file \/proc\/self\/fd\/0 is in \/proc/],
    ];
    for (const [args, why] of refused) {
      const end = await askAs(1234, { args: ['--context', 'ctx', '--no-push', ...args], cwd: mine, env: {} });
      assert.equal(end.exit, 2, `${args.join(' ')}: ${end.error}`);
      assert.match(end.error!, why, `${args.join(' ')}: ${end.error}`);
    }
    assert.deepEqual(fs.readdirSync(victim), ['file']);
    assert.equal(fs.readFileSync(path.join(victim, 'file'), 'utf8'), 'root\'s\n');
    assert.equal(fs.statSync(path.join(victim, 'file')).uid, 0);
    assert.equal(fs.readFileSync(path.join(mine, 'roots'), 'utf8'), 'root\'s\n');
    assert.equal(fs.existsSync(path.join(ws, 'not-mine')), false);
  });

  /** A raw request to the sidecar from a process of this uid and gid, as a job in the agent container could send; resolves with its BuildEnd. */
  const askAs = async (uid: number, request: unknown, sock = socket): Promise<{ exit: number; error?: string }> => {
    const script = `const WebSocket = require(${JSON.stringify(path.join(REPO_ROOT, 'node_modules/ws'))});
const ws = new WebSocket('ws://sidecar/v1/build', { perMessageDeflate: false, createConnection: () => require('net').connect(${JSON.stringify(sock)}) });
ws.on('open', () => ws.send(process.argv[1]));
ws.on('message', (d, bin) => { if (!bin) { console.log(d.toString()); process.exit(0); } });
ws.on('error', (e) => { console.error(e.message); process.exit(1); });`;
    const r = run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', process.execPath, '-e', script, JSON.stringify(request)]);
    return JSON.parse(r.trim().split('\n').pop()!);
  };

  it('takes the client\'s uid from the kernel (SO_PEERCRED), never from the request: an "owner" it claims is ignored', async () => {
    const ws = tmpDir('drydock-sidecar-peer-');
    fs.chmodSync(ws, 0o755);
    const mine = path.join(ws, 'job');
    fs.mkdirSync(mine);
    fs.cpSync(path.join(REPO_ROOT, 'images/hello'), path.join(mine, 'ctx'), { recursive: true });
    fs.chownSync(mine, 1234, 1234);
    const end = await askAs(1234, { args: ['--context', 'ctx', '--no-push', '--digest-file', 'digest'], cwd: mine, env: {}, owner: { uid: 4321, gid: 4321 } });
    assert.equal(end.exit, 0, end.error);
    const st = fs.statSync(path.join(mine, 'digest'));
    assert.deepEqual([st.uid, st.gid], [1234, 1234], 'the file is the connected user\'s, not the claimed one\'s');
    assert.match(serverLog, /started in .*job for uid 1234 /);
  });

  it('reads for a client only what it could read itself: never /proc, the builder\'s credentials, or files outside the client\'s own tree', async () => {
    const ws = tmpDir('drydock-sidecar-in-');
    fs.chmodSync(ws, 0o755);
    const mine = path.join(ws, 'job');
    fs.mkdirSync(mine);
    fs.cpSync(path.join(REPO_ROOT, 'images/hello'), path.join(mine, 'ctx'), { recursive: true });
    fs.writeFileSync(path.join(mine, 'ctx', 'Dockerfile.secret'), 'FROM scratch\nRUN --mount=type=secret,id=x cat /run/secrets/x\n');
    fs.symlinkSync('/proc/self', path.join(mine, 'self'));
    fs.symlinkSync(builderConfig, path.join(mine, 'docker'));
    for (const p of [mine, path.join(mine, 'ctx')]) fs.chownSync(p, 1234, 1234);
    const refused: Array<[unknown[], RegExp]> = [
      [['--context', 'ctx', '--secret', 'id=x,src=/proc/self/environ', '-f', 'Dockerfile.secret'], /--secret src \/proc\/self\/environ is in \/proc/],
      [['--context', 'ctx', '--secret=id=x,source=self/environ', '-f', 'Dockerfile.secret'], /--secret src self\/environ is \(through a symlink, \/proc\/\d+\/environ\) in \/proc/],
      [['--context', 'ctx', '--dockerfile', '/proc/self/environ'], /--dockerfile \/proc\/self\/environ is in \/proc/],
      [['-c', 'ctx', '-f/proc/self/environ'], /--dockerfile \/proc\/self\/environ is in \/proc/],
      [['--context', '/'], /--context \/ is not in a directory of uid 1234/],
      [['--context', 'docker', '-f', '/etc/hostname'], /--context docker is \(through a symlink, .*\) in .*drydock-builder-docker-/],
      [['--context', 'ctx', '--secret', 'id=x,src=/etc/shadow', '-f', 'Dockerfile.secret'], /--secret src \/etc\/shadow is not in a directory of uid 1234/],
      [['--context', 'ctx', '--registry-certificate', `r.example=${path.join(builderConfig, 'config.json')}`], /--registry-certificate .* in .*drydock-builder-docker-/],
    ];
    for (const [args, why] of refused) {
      const end = await askAs(1234, { args: [...args, '--no-push'], cwd: mine, env: {} });
      assert.equal(end.exit, 2, `${args.join(' ')}: ${end.error}`);
      assert.match(end.error!, why, `${args.join(" ")}: ${end.error}`);
    }
    // root in the agent container is not root in the builder's: its /proc and credentials stay out of reach too
    const asRoot = await remote(['--context', '/', '--no-push'], mine);
    assert.equal(asRoot.code, 2, asRoot.stderr);
    assert.match(asRoot.stderr, /--context \/ holds \/proc, which a build in the sidecar never reads/);
    const secretAsRoot = await remote(['--context', 'ctx', '-f', 'Dockerfile.secret', '--secret', `id=x,src=${path.join(builderConfig, 'config.json')}`, '--no-push'], mine);
    assert.equal(secretAsRoot.code, 2, secretAsRoot.stderr);
    assert.match(secretAsRoot.stderr, /in .*drydock-builder-docker-.*, which a build in the sidecar never reads for a client/);
    assert.doesNotMatch(serverLog + asRoot.stderr + secretAsRoot.stderr, /YnVpbGRlcjpzM2NyZXQ=|s3cret/);
  });

  it('passes a failed build\'s error and exit code through; notes that credentials composed in the agent do not reach the builder', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN exit 3\n` });
    const agentConfig = tmpDir('drydock-agent-docker-');
    fs.writeFileSync(path.join(agentConfig, 'config.json'), '{"auths":{}}');
    const r = await remote(['--context', ctx, '--no-push'], dir, { DOCKER_CONFIG: agentConfig });
    assert.match(r.stderr, /note: .*config\.json is not read: builds in the sidecar use the builder's registry credentials/);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Dockerfile:2: RUN exit 3 failed: exit code 3/);
  });

  it('stops the build in the builder when the client is stopped (a Jenkins abort)', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo started && sleep 4701\n` });
    const client = spawn(path.join(REPO_ROOT, 'bin/executor'), ['--context', ctx, '--no-push'], { cwd: dir, env: { ...process.env, DRYDOCK_REMOTE: socket }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    client.stdout!.on('data', (d) => { out += d; });
    client.stderr!.on('data', (d) => { out += d; });
    const steps = () => processesWith('sleep\u00004701\u0000');
    await settle(() => steps().length === 1);
    assert.equal(steps().length, 1, `the step runs in the builder: ${out}`);
    client.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => client.once('close', r));
    assert.equal(code, 143, out);
    assert.match(out, /SIGTERM: stopping the build in the builder sidecar/);
    await settle(() => steps().length === 0);
    assert.deepEqual(steps(), [], 'the step was killed');
    await settle(() => /the client went away; stopping the build/.test(serverLog));
    assert.match(serverLog, /the client went away; stopping the build/);
  });

  it('refuses what it cannot run, saying why; a client finds no sidecar, saying where it looked', async () => {
    // a raw client: a directory the builder lacks (the workspace volume not shared), and
    // environment the args do not read (the builder's own credentials must not be overridden)
    const { WebSocket } = require('ws') as typeof import('ws');
    const ask = (request: unknown) => new Promise<{ exit: number; error?: string }>((resolve, reject) => {
      const ws = new WebSocket(`ws+unix://${socket}:/v1/build`);
      ws.on('open', () => ws.send(JSON.stringify(request)));
      ws.on('message', (data: Buffer, isBinary: boolean) => { if (!isBinary) resolve(JSON.parse(data.toString())); });
      ws.on('error', reject);
    });
    const noDir = await ask({ args: ['--no-push'], cwd: path.join(dir, 'only-in-the-agent'), env: {} });
    assert.equal(noDir.exit, 2);
    assert.match(noDir.error!, /working directory .*only-in-the-agent does not exist in the builder container: mount the agent's workspace volume at the same path in both containers/);
    const sneaky = await ask({ args: ['--no-push'], cwd: dir, env: { DOCKER_CONFIG: '/tmp/evil' } });
    assert.equal(sneaky.exit, 2);
    assert.match(sneaky.error!, /carries environment a build does not read: DOCKER_CONFIG/);
    const bare = await ask({ args: ['--build-arg', 'GIT_TOKEN', '--no-push'], cwd: dir, env: {} });
    assert.match(bare.error!, /--build-arg GIT_TOKEN has no value: it would read the builder's environment/);
    assert.match((await ask({ args: 'no' })).error!, /needs "args": an array of strings/);
    const none = await runExecutor(['--no-push'], { env: { DRYDOCK_REMOTE: path.join(dir, 'nothing.sock') } });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /cannot reach the builder sidecar at .*nothing\.sock \(no socket there\): is the builder container running `drydock serve --socket/);
  });

  it('--max-builds: builds beyond the limit wait their turn, and their client is told (a socket path may hold \':\')', async () => {
    const limited = path.join(dir, 'limited:1.sock');
    const srv = spawn(DRYDOCK, ['serve', '--socket', limited, '--max-builds', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    srv.stderr!.on('data', (d) => { log += d; });
    try {
      await settle(() => /listening on/.test(log));
      const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN sleep 1\n` });
      const first = runExecutor(['--context', ctx, '--no-push'], { cwd: dir, env: { DRYDOCK_REMOTE: limited } });
      await settle(() => /build 1 started/.test(log));
      const second = await runExecutor(['--context', ctx, '--no-push'], { cwd: dir, env: { DRYDOCK_REMOTE: limited } });
      assert.equal((await first).code, 0);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /waiting for the builder sidecar: 1 build\(s\) running, at most 1 at once/);
      assert.ok(log.indexOf('build 1 ended') < log.indexOf('build 2 started'), log);
    } finally {
      srv.kill('SIGTERM');
      await new Promise((r) => srv.once('close', r));
    }
    const zero = await runExecutor(['serve', '--socket', path.join(dir, 'zero.sock'), '--max-builds', '0'], { bin: 'drydock' });
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--max-builds 0 would never build/);
  });

  it('refuses a second server on a live socket, and replaces a stale one', async () => {
    const second = await runExecutor(['serve', '--socket', socket], { bin: 'drydock' });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another server already listens there/);
    // a server killed outright leaves its socket file behind
    const stale = path.join(dir, 'stale.sock');
    const dead = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => dead.stdout!.once('data', r));
    dead.kill('SIGKILL');
    await new Promise((r) => dead.once('close', r));
    assert.ok(fs.lstatSync(stale).isSocket());
    const again = spawn(DRYDOCK, ['serve', '--socket', stale, '--socket-owner', '1234:5678'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    again.stderr!.on('data', (d) => { log += d; });
    await settle(() => /listening on/.test(log));
    assert.match(log, /listening on .*stale\.sock \(mode 0660\)/);
    const st = fs.statSync(stale);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1234, 5678, 0o660], 'the agent container\'s user may connect, nobody else');
    again.kill('SIGTERM');
    assert.equal(await new Promise((r) => again.once('close', r)), 0);
  });
});
