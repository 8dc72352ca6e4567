// The agent image end to end: Dockerfile.agent built by our own executor from offline stand-in
// bases (images/agent/stand-ins/make-stand-ins.sh: the host's node, busybox and glibc; a
// jenkins/inbound-agent stand-in whose `java` is a shell script recording its argv, because a JDK
// is 300 MB and the shim's own tests already prove the java command with a real JVM), pushed to a
// loopback registry, then run with podman (runc, no --privileged).
// "Default capabilities" below means Docker's (and Fargate's) default set: podman's default plus
// MKNOD, NET_RAW and AUDIT_WRITE. `-i` stands in for `-it`: the test has no terminal to give.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildAgentImage, dockerLikeSeccomp, podman, podmanEnv, type AgentImage, type PodmanResult } from '../../support/agent-image';
import { umociUnpack } from '../../support/executor';
import { run, skopeoOpts, startRegistry, tmpDir, type Registry } from '../../support/testbed';
import { startJenkinsStandin } from '../../support/jenkins-standin';

const DOCKER_DEFAULT_CAPS = ['--cap-add=MKNOD', '--cap-add=NET_RAW', '--cap-add=AUDIT_WRITE'];

// Prints one line "STATE <hash>" over the agent's files: content, type, mode, owner and mtime of
// everything under these paths. Runs with the image's node, which no base image build can replace.
const AGENT_PATHS = ['/kaniko', '/opt/drydock', '/home/jenkins', '/usr/share/jenkins', '/usr/local/bin', '/busybox', '/opt/java'];
const STATE_JS = `
const fs = require('fs'), crypto = require('crypto'), h = crypto.createHash('sha256');
let n = 0;
const walk = (p) => {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) { h.update(p + ' missing\\n'); return; }
  n++;
  h.update(p + ' ' + st.mode + ' ' + st.uid + ':' + st.gid + ' ' + st.size + ' ' + st.mtimeMs + '\\n');
  if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
  else if (st.isFile()) h.update(fs.readFileSync(p));
  else if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(p + '/' + e);
};
for (const p of ${JSON.stringify(AGENT_PATHS)}) walk(p);
console.log('STATE ' + h.digest('hex') + ' ' + n);
`;

/** A shell script for `podman run -i IMAGE /bin/sh`: state, a build with `executor EXTRA...`, state. */
/** `mounts`: the RUN also reads a secret and writes a cache mount (without mount rights, copied in). */
function buildInsideScript(reg: Registry, dest: string, extra: string[], mounts = false): string {
  const js = STATE_JS.replace(/'/g, `'\\''`);
  // single-quoted in the script below, so it holds no single quote and the shell expands nothing
  const run = mounts
    ? 'RUN --mount=type=secret,id=tok --mount=type=cache,target=/root/.cache/app test "$(cat /run/secrets/tok)" = inside-secret && echo cached > /root/.cache/app/f && echo built-inside > /hi && id -u >> /hi && { readlink /proc/self/exe || echo no /proc; } >> /hi'
    : 'RUN echo built-inside > /hi && id -u >> /hi';
  return [
    'set -u',
    'mkdir -p /home/jenkins/agent/workspace/app && cd /home/jenkins/agent/workspace/app',
    'echo "agent file" > /home/jenkins/agent/marker.txt',
    `printf '%s\\n' 'FROM ${reg.host}/library/busybox:latest' '${run}' 'COPY ctx.txt /ctx.txt' > Dockerfile`,
    'echo context-file > ctx.txt',
    `node -e '${js}'`,
    `TOK=inside-secret executor --context /home/jenkins/agent/workspace/app --destination ${dest} --insecure --insecure-pull --digest-file /tmp/digest ${mounts ? '--secret id=tok,env=TOK --cache-dir /tmp/cache' : ''} ${extra.join(' ')} > /tmp/build.log 2>&1`,
    'echo "EXIT $?"',
    'cat /tmp/build.log',
    `node -e '${js}'`,
    'cat /home/jenkins/agent/marker.txt',
    'echo "DIGEST $(cat /tmp/digest 2>/dev/null)"',
  ].join('\n') + '\n';
}

interface InsideBuild { exit: number; log: string; before: string; after: string; digest: string; marker: string; out: PodmanResult }

function parseInside(out: PodmanResult): InsideBuild {
  const states = [...out.stdout.matchAll(/^STATE (\S+ \d+)$/gm)].map((m) => m[1]);
  const exit = /^EXIT (\d+)$/m.exec(out.stdout);
  assert.ok(exit && states.length === 2, `the script did not finish (podman exit ${out.code}):\n${out.stdout}\n${out.stderr}`);
  const log = out.stdout.slice(out.stdout.indexOf(exit[0]) + exit[0].length, out.stdout.lastIndexOf('STATE '));
  return {
    exit: Number(exit[1]), log, before: states[0], after: states[1],
    digest: /^DIGEST (.*)$/m.exec(out.stdout)?.[1] ?? '',
    marker: out.stdout.includes('agent file\n') ? 'agent file' : '', out,
  };
}

/** Pull `ref` with skopeo (the independent reader) and return the file /hi of its root. */
function readPushed(reg: Registry, ref: string, file: string): string {
  const layout = path.join(tmpDir('drydock-agentimg-oci-'), 'l');
  run('skopeo', ['copy', '-q', ...skopeoOpts(reg, 'src-'), `docker://${ref}`, `oci:${layout}:x`]);
  return fs.readFileSync(path.join(umociUnpack(layout, 'x').rootfs, file), 'utf8');
}

describe('agent image (Dockerfile.agent built by our executor, run with podman)', function () {
  this.timeout(300000);
  let reg: Registry;
  let image: AgentImage;
  let env: NodeJS.ProcessEnv;

  before(async function () {
    this.timeout(600000);
    reg = await startRegistry('plain');
    image = await buildAgentImage(reg);
    env = podmanEnv(reg);
    const pull = await podman(env, ['pull', '-q', image.ref]);
    assert.equal(pull.code, 0, `podman pull ${image.ref}: ${pull.stderr}`);
  });

  // the image is ~250 MB unpacked: do not leave it in the run's podman storage
  after(async () => {
    if (env && image) await podman(env, ['rmi', '-f', image.ref]);
  });

  it('has the inbound-agent user, workdir, volumes and the shim as entrypoint, and kaniko\'s DOCKER_CONFIG', () => {
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', ...skopeoOpts(reg), `docker://${image.ref}`])).config;
    assert.deepEqual(cfg.Entrypoint, ['/usr/local/bin/jenkins-agent']);
    assert.equal(cfg.User, 'jenkins');
    assert.equal(cfg.WorkingDir, '/home/jenkins');
    assert.deepEqual(Object.keys(cfg.Volumes ?? {}).sort(), ['/home/jenkins/.jenkins', '/home/jenkins/agent']);
    const envs = Object.fromEntries((cfg.Env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    assert.equal(envs.DOCKER_CONFIG, '/kaniko/.docker');
    assert.equal(envs.SSL_CERT_DIR, '/kaniko/ssl/certs', 'where kaniko\'s image takes extra CA files');
    assert.equal(envs.AGENT_WORKDIR, '/home/jenkins/agent');
    assert.equal(envs.JAVA_HOME, '/opt/java/openjdk');
    assert.match(envs.PATH, /^\/opt\/java\/openjdk\/bin:.*:\/usr\/local\/bin:.*:\/kaniko:\/busybox$/);
  });

  it('answers --help through the entrypoint (the shim)', async () => {
    const r = await podman(env, ['run', '--rm', '--network=none', image.ref, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /jenkins-agent COMMAND \[ARGS\.\.\.\]\s+run COMMAND instead/);
    assert.match(r.stdout, /JENKINS_WEB_SOCKET=true/);
  });

  it('gives a shell with busybox on PATH (podman run -i IMAGE /bin/sh), and a busybox shell at /busybox/sh', async () => {
    const script = [
      'echo "shell=$0 user=$(id -un):$(id -u) pwd=$(pwd)"',
      'busybox | head -1',
      'echo "sh=$(readlink -f /bin/sh)"',
      'for c in executor drydock jenkins-agent docker-credential-drydock catatonit node java getfattr setfattr; do echo "$c=$(command -v $c)"; done',
      'getfattr --version | head -1',
      'echo "kaniko=$(readlink /kaniko/executor) docker=$(stat -c %U /kaniko/.docker)"',
      'test -s /usr/share/jenkins/agent.jar && echo agent.jar-ok',
      '/kaniko/executor --help | head -1',
      'node --version',
    ].join('\n') + '\n';
    const r = await podman(env, ['run', '--rm', '-i', '--network=none', image.ref, '/bin/sh'], script);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^shell=\/bin\/sh user=jenkins:1000 pwd=\/home\/jenkins$/m);
    assert.match(r.stdout, /^BusyBox v\d/m);
    assert.match(r.stdout, /^sh=\/busybox\/busybox$/m, '/bin/sh is busybox\'s');
    for (const [c, p] of Object.entries({
      executor: '/usr/local/bin/executor', drydock: '/usr/local/bin/drydock', 'jenkins-agent': '/usr/local/bin/jenkins-agent',
      'docker-credential-drydock': '/usr/local/bin/docker-credential-drydock', catatonit: '/usr/local/bin/catatonit',
      node: '/usr/local/bin/node', java: '/opt/java/openjdk/bin/java', getfattr: '/usr/bin/getfattr', setfattr: '/usr/bin/setfattr',
    })) assert.match(r.stdout, new RegExp(`^${c}=${p}$`, 'm'));
    assert.match(r.stdout, /^getfattr \d/m, 'getfattr runs on the agent base');
    assert.match(r.stdout, /^kaniko=\/opt\/drydock\/bin\/executor docker=jenkins$/m);
    assert.match(r.stdout, /^agent\.jar-ok$/m);
    assert.match(r.stdout, /^Usage: build \[options\]$/m);

    const bb = await podman(env, ['run', '--rm', '-i', '--network=none', '--entrypoint', '/busybox/sh', image.ref], 'echo "$0 $(readlink -f /proc/$$/exe)"\n');
    assert.equal(bb.code, 0, bb.stderr);
    assert.equal(bb.stdout, '/busybox/sh /busybox/busybox\n');
  });

  it('runs remoting (java -jar agent.jar) under catatonit when started as the ECS plugin starts it', async () => {
    const jenkins = await startJenkinsStandin();
    try {
      const r = await podman(env, ['run', '--rm', '--network=host', image.ref,
        '-url', jenkins.url, 'f00dfeedcafe0123456789abcdef0123', 'agent-1'], undefined, 60000);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      // the stand-in java prints its arguments; the shim's tests check every argument form
      assert.match(r.stdout, new RegExp(`^stand-in java: -jar /usr/share/jenkins/agent\\.jar -url ${jenkins.url} f00dfeedcafe0123456789abcdef0123 agent-1$`, 'm'));
      assert.match(r.stdout, /^stand-in java's parent: catatonit$/m, 'the shim as PID 1 runs remoting under catatonit, which reaps orphans');
      assert.ok(jenkins.requests.includes('GET /tcpSlaveAgentListener/'), jenkins.requests.join(', '));
      assert.deepEqual(jenkins.agentConnections, []);
    } finally {
      await jenkins.close();
    }
  });

  // Under Docker's seccomp profile (ECS on EC2) a step runs chrooted without namespaces: its
  // mounts are copied in, and it has no /proc. Under podman's, a user namespace gives it both.
  for (const seccomp of ['Docker\'s', 'podman\'s'] as const) {
    it(`builds and pushes an image inside the running agent (root, chroot isolation, default caps, ${seccomp} seccomp profile) without touching the agent's files`, async () => {
      const dest = `${reg.host}/inside/chroot:${seccomp === 'Docker\'s' ? 'docker' : 'podman'}`;
      const profile = seccomp === 'Docker\'s' ? ['--security-opt', `seccomp=${dockerLikeSeccomp()}`] : [];
      const out = parseInside(await podman(env, ['run', '--rm', '-i', '--network=host', '--user=root', ...DOCKER_DEFAULT_CAPS, ...profile, image.ref, '/bin/sh'],
        buildInsideScript(reg, dest, ['--isolation=chroot', '--verbosity=debug'], true)));
      assert.equal(out.exit, 0, out.log);
      assert.match(out.log, seccomp === 'Docker\'s' ? /RUN isolation: chroot \(mount namespace: no,/ : /RUN isolation: chroot \(mount namespace: yes, in a user namespace,/);
      // the image's node is the one its startup snapshot was made with (Dockerfile.agent)
      assert.match(out.log, /DEBUG node v[\d.]+, snapshot \(\d+ modules\)/);
      // getfattr is there: the RUN's snapshot looked for extended attributes
      assert.doesNotMatch(out.log, /getfattr .*not found|no setfattr/);
      assert.equal(out.after, out.before, `the agent's files changed:\n${out.log}`);
      assert.equal(out.marker, 'agent file');
      assert.match(out.digest, /^sha256:[0-9a-f]{64}$/);
      const proc = seccomp === 'Docker\'s' ? 'no /proc' : '/bin/busybox';
      assert.equal(readPushed(reg, `${reg.host}/inside/chroot@${out.digest}`, 'hi'), `built-inside\n0\n${proc}\n`);
    });
  }

  it('builds with --isolation=none (the kaniko way) inside the agent without deleting the agent\'s files', async () => {
    const dest = `${reg.host}/inside/none:1`;
    const out = parseInside(await podman(env, ['run', '--rm', '-i', '--network=host', '--user=root', ...DOCKER_DEFAULT_CAPS, image.ref, '/bin/sh'],
      buildInsideScript(reg, dest, ['--isolation=none'])));
    assert.equal(out.exit, 0, out.log);
    assert.match(out.log, /RUN isolation: none/);
    assert.equal(out.after, out.before, `the agent's files changed:\n${out.log}`);
    assert.equal(out.marker, 'agent file');
    assert.equal(readPushed(reg, `${reg.host}/inside/none@${out.digest}`, 'hi'), 'built-inside\n0\n');
  });

  // The agent need not be root: a second container of the same image, as root, builds for it
  // through a socket on a shared volume (jenkins/aws/task-definition-sidecar.json). The agent
  // here has no network at all, so the build and the push can only have happened in the builder.
  it('as an unprivileged agent (jenkins, no network) beside a root builder sidecar of the same image: executor builds and pushes there, with the agent\'s secret', async () => {
    const shared = tmpDir('drydock-sidecar-vol-');
    const sockDir = path.join(shared, 'run');
    const workspace = path.join(shared, 'agent');
    fs.mkdirSync(sockDir);
    fs.mkdirSync(workspace);
    fs.chownSync(workspace, 1000, 1000);
    const volumes = ['-v', `${sockDir}:/run/drydock`, '-v', `${workspace}:/home/jenkins/agent`];
    const name = `drydock-builder-${process.pid}`;
    const started = await podman(env, ['run', '-d', '--name', name, '--network=host', '--user=root', ...DOCKER_DEFAULT_CAPS, ...volumes,
      '--entrypoint', '/opt/drydock/bin/drydock', image.ref, 'serve', '--socket', '/run/drydock/builder.sock', '--socket-owner', '1000:1000']);
    assert.equal(started.code, 0, started.stderr);
    try {
      for (let i = 0; i < 200 && !fs.existsSync(path.join(sockDir, 'builder.sock')); i++) await new Promise((r) => setTimeout(r, 50));
      const dest = `${reg.host}/inside/sidecar:1`;
      const script = [
        'mkdir -p /home/jenkins/agent/workspace/app && cd /home/jenkins/agent/workspace/app',
        `printf '%s\\n' 'FROM ${reg.host}/library/busybox:latest' 'RUN --mount=type=secret,id=tok,required=true md5sum < /run/secrets/tok > /hi && id -u >> /hi' > Dockerfile`,
        `TOK=agent-secret executor --context . --destination ${dest} --insecure --insecure-pull --secret id=tok,env=TOK --digest-file digest > build.log 2>&1`,
        'echo "EXIT $? UID $(id -u)"',
        'cat build.log',
        'echo "DIGEST $(cat digest) OWNER $(stat -c %u digest)"',
      ].join('\n') + '\n';
      const out = await podman(env, ['run', '--rm', '-i', '--network=none', '--user=1000', '-e', 'DRYDOCK_REMOTE=/run/drydock/builder.sock', ...volumes, image.ref, '/bin/sh'], script);
      assert.match(out.stdout, /^EXIT 0 UID 1000$/m, `${out.stdout}\n${out.stderr}`);
      const m = /^DIGEST (sha256:[0-9a-f]{64}) OWNER (\d+)$/m.exec(out.stdout);
      assert.ok(m, out.stdout);
      assert.equal(m[2], '1000', 'the digest file the builder wrote belongs to the agent\'s user');
      assert.ok(!out.stdout.includes('agent-secret'), 'the secret is not in the log');
      assert.equal(readPushed(reg, `${reg.host}/inside/sidecar@${m[1]}`, 'hi'), `${createHash('md5').update('agent-secret').digest('hex')}  -\n0\n`);
    } finally {
      const logs = await podman(env, ['logs', name]);
      await podman(env, ['rm', '-f', name]);
      assert.match(logs.stdout + logs.stderr, /build 1 started in \/home\/jenkins\/agent\/workspace\/app/);
    }
  });

  // Building needs root (as kaniko does): the jenkins user has no effective capabilities.
  it('as the default user (jenkins) a build fails saying it needs root, and leaves the agent\'s files alone', async () => {
    const out = parseInside(await podman(env, ['run', '--rm', '-i', '--network=host', ...DOCKER_DEFAULT_CAPS, image.ref, '/bin/sh'],
      buildInsideScript(reg, `${reg.host}/inside/jenkins:1`, [])));
    assert.notEqual(out.exit, 0, out.log);
    assert.match(out.log, /RUN needs root in the build container, but this process runs as uid 1000/);
    assert.equal(out.after, out.before, `the agent's files changed:\n${out.log}`);
    assert.equal(out.marker, 'agent file');
  });
});
