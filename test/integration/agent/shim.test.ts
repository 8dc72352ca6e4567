// The shim end to end: the real CLI (bin/jenkins-agent) against a loopback stand-in of the
// Jenkins controller's HTTP endpoints (see test/support/jenkins-standin.ts: written from the
// remoting contract, since a controller cannot run here) and a javac-compiled stand-in agent.jar
// that records the java command it was started with.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/testbed';
import { readRecording, standinAgentJar, startJenkinsStandin, type JenkinsStandin } from '../../support/jenkins-standin';

const SHIM = path.join(REPO_ROOT, 'bin/jenkins-agent');
const SECRET = 'f00dfeedcafe0123456789abcdef0123456789abcdef0123456789abcdef0042';
const OLD = '3100.vold';
const NEW = '3283.v92c105e0f819';

interface Result { code: number | null; stdout: string; stderr: string }

function start(args: string[], env: Record<string, string>, prefix: string[] = []): { child: ChildProcess; done: Promise<Result> } {
  const argv = [...prefix, SHIM, ...args];
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

async function waitFor(file: string, text: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(text)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} never contained ${text}`);
}

describe('jenkins-agent shim (integration)', function () {
  this.timeout(60000);
  let dir: string;
  let jenkins: JenkinsStandin;
  let base: Record<string, string>;
  let record: string;

  before(() => {
    standinAgentJar(OLD);
    standinAgentJar(NEW);
  });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-shim-'));
    record = path.join(dir, 'record.json');
    jenkins = await startJenkinsStandin({ agentJar: standinAgentJar(NEW) });
    base = {
      PATH: process.env.PATH as string,
      HOME: dir,
      JENKINS_AGENT_FILE: standinAgentJar(OLD),
      DRYDOCK_AGENT_JAR_CACHE: path.join(dir, 'cache'),
      DRYDOCK_AGENT_CHECK_DELAY_MS: '10',
      STANDIN_RECORD: record,
    };
  });

  afterEach(async () => {
    await jenkins.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the ECS plugin form as jenkins/inbound-agent would, never logging the secret', async () => {
    const { done } = start(['-url', jenkins.url, '-tunnel', '127.0.0.1:50000', SECRET, 'ecs-agent-1'],
      { ...base, JAVA_OPTS: '-Dagent.test=yes  -Xmx64m', REMOTING_OPTS: '-noReconnectAfter 1d', DRYDOCK_VERBOSITY: 'debug' });
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const rec = readRecording(record);
    assert.deepEqual(rec.args, ['-noReconnectAfter', '1d', '-url', jenkins.url, '-tunnel', '127.0.0.1:50000', SECRET, 'ecs-agent-1']);
    assert.deepEqual(rec.jvmArgs, ['-Dagent.test=yes', '-Xmx64m']);
    assert.equal(rec.javaCommand, [standinAgentJar(OLD), ...rec.args].join(' '));
    assert.match(r.stderr, /starting remoting/);
    assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET), 'secret leaked into the logs');
    assert.ok(jenkins.requests.includes('GET /tcpSlaveAgentListener/'));
    assert.deepEqual(jenkins.agentConnections, [], 'the shim must not open the agent connection');
  });

  it('never logs the credentials remoting options and JVM properties carry, from the arguments, REMOTING_OPTS or JAVA_OPTS', async () => {
    const secrets = ['jnlp-Pa55word', 'proxy-Pa55word', 'auth-Pa55word', 'Bearer-h3ader-value', 'cred-Pa55word', 'jvm-proxy-Pa55word'];
    const { done } = start(
      ['-url', jenkins.url, '-jnlpCredentials', 'alice:jnlp-Pa55word', '-proxyCredentials=bob:proxy-Pa55word', '-webSocketHeader', 'X-Auth=Bearer-h3ader-value', SECRET, 'n1'],
      { ...base, REMOTING_OPTS: '-auth carol:auth-Pa55word -credentials dave:cred-Pa55word', JAVA_OPTS: '-Dhttps.proxyPassword=jvm-proxy-Pa55word', DRYDOCK_VERBOSITY: 'debug' },
    );
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readRecording(record).args.includes('alice:jnlp-Pa55word'), 'remoting gets the values');
    assert.match(r.stderr, /starting remoting.*-jnlpCredentials \*\*\*/);
    for (const s of secrets) assert.ok(!r.stderr.includes(s) && !r.stdout.includes(s), `${s} leaked into the logs`);
  });

  it('with DRYDOCK_REMOTE, says before remoting starts whether the builder sidecar answers', async () => {
    const socket = path.join(dir, 'builder.sock');
    const args = ['-url', jenkins.url, SECRET, 'ecs-agent-1'];
    const missing = await start(args, { ...base, DRYDOCK_REMOTE: socket }).done;
    assert.equal(missing.code, 0, missing.stderr);
    assert.match(missing.stderr, /DRYDOCK_REMOTE=.*builder\.sock: no builder sidecar answers there \(yet\)/);
    const server = spawn(path.join(REPO_ROOT, 'bin/drydock'), ['serve', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      for (let i = 0; i < 200 && !fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
      const live = await start(args, { ...base, DRYDOCK_REMOTE: socket }).done;
      assert.equal(live.code, 0, live.stderr);
      assert.match(live.stderr, /builds run in the builder sidecar at .*builder\.sock/);
      assert.ok(live.stderr.indexOf('builds run in the builder sidecar') < live.stderr.indexOf('starting remoting'));
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('close', r));
    }
  });

  it('runs the environment form in WebSocket mode with JAVA_HOME and an @file secret', async () => {
    const secretFile = path.join(dir, 'secret');
    fs.writeFileSync(secretFile, SECRET + '\n');
    const javaHome = fs.realpathSync('/usr/lib/jvm/temurin-25-jdk-amd64');
    const { done } = start([], {
      ...base, JAVA_HOME: javaHome, JENKINS_URL: jenkins.url, JENKINS_SECRET: `@${secretFile}`, JENKINS_NAME: 'ws-agent',
      JENKINS_AGENT_WORKDIR: path.join(dir, 'work'), JENKINS_WEB_SOCKET: 'true', DRYDOCK_LOG_FORMAT: 'json',
    });
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const rec = readRecording(record);
    assert.equal(rec.command, path.join(javaHome, 'bin/java'));
    assert.deepEqual(rec.args, ['-secret', `@${secretFile}`, '-name', 'ws-agent', '-url', jenkins.url, '-workDir', path.join(dir, 'work'), '-webSocket']);
    assert.deepEqual(jenkins.requests, ['GET /login']);
    assert.ok(!r.stderr.includes(SECRET));
    for (const line of r.stderr.trim().split('\n')) JSON.parse(line); // structured logs
  });

  it('uses JENKINS_JAVA_BIN and JENKINS_JAVA_OPTS over JAVA_HOME and JAVA_OPTS', async () => {
    const javaBin = fs.realpathSync('/usr/lib/jvm/java-17-openjdk-amd64/bin/java');
    const { done } = start(['-url', jenkins.url, SECRET, 'n1'], {
      ...base, JENKINS_JAVA_BIN: javaBin, JAVA_HOME: '/nonexistent', JAVA_OPTS: '-Dwrong=1', JENKINS_JAVA_OPTS: '-Dright=1',
    });
    assert.equal((await done).code, 0);
    const rec = readRecording(record);
    assert.equal(rec.command, javaBin);
    assert.deepEqual(rec.jvmArgs, ['-Dright=1']);
  });

  it('waits for a controller that is starting up', async () => {
    jenkins.options.unavailableFirst = 2;
    const r = await start(['-url', jenkins.url, SECRET, 'n1'], base).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /answered 503.*retrying/);
    assert.equal(jenkins.requests.filter((q) => q === 'GET /tcpSlaveAgentListener/').length, 3);
  });

  it('checks several -url in order, as remoting tries them, and goes on with the one that answers', async () => {
    const dead = await startJenkinsStandin();
    const deadUrl = dead.url;
    await dead.close();
    const r = await start(['-url', deadUrl, '-url', jenkins.url, SECRET, 'n1'], { ...base, DRYDOCK_AGENT_CHECK_ATTEMPTS: '1' }).done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readRecording(record).args, ['-url', deadUrl, '-url', jenkins.url, SECRET, 'n1']);
    assert.ok(jenkins.requests.includes('GET /tcpSlaveAgentListener/'));
  });

  it('stops with an actionable message when the TCP agent port is disabled', async () => {
    jenkins.options.listenerStatus = 404;
    const r = await start(['-url', jenkins.url, SECRET, 'n1'], base).done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TCP port for inbound agents is disabled.*JENKINS_WEB_SOCKET=true/);
    assert.ok(!fs.existsSync(record), 'java must not start');
  });

  it('gives up after the configured attempts when nothing listens', async () => {
    const url = jenkins.url;
    await jenkins.close();
    jenkins = await startJenkinsStandin();
    const r = await start(['-url', url, SECRET, 'n1'], { ...base, DRYDOCK_AGENT_CHECK_ATTEMPTS: '2' }).done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not reachable after 2 attempt\(s\): connection to 127\.0\.0\.1:\d+ refused/);
  });

  it('downloads agent.jar when the image has none, and reuses the cached copy', async () => {
    const env = { ...base, JENKINS_AGENT_FILE: path.join(dir, 'missing.jar') };
    assert.equal((await start(['-url', jenkins.url, SECRET, 'n1'], env).done).code, 0);
    const cached = path.join(dir, 'cache', 'agent.jar');
    assert.ok(readRecording(record).javaCommand.startsWith(cached + ' '));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'cache')), ['agent.jar']);
    assert.equal((await start(['-url', jenkins.url, SECRET, 'n1'], env).done).code, 0);
    assert.equal(jenkins.requests.filter((q) => q === 'GET /jnlpJars/agent.jar').length, 1);
  });

  it('downloads agent.jar when the image\'s is older than the controller\'s minimum', async () => {
    jenkins.options.minRemotingVersion = '3200.vmin';
    const r = await start(['-url', jenkins.url, SECRET, 'n1'], base).done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readRecording(record).javaCommand.startsWith(path.join(dir, 'cache', 'agent.jar') + ' '));
    assert.match(r.stderr, /older|needs at least 3200/);
  });

  it('refuses a download that is not a jar and leaves no partial file', async () => {
    jenkins.options.agentJarBody = Buffer.from('<html>Please log in</html>');
    const r = await start(['-url', jenkins.url, SECRET, 'n1'], { ...base, JENKINS_AGENT_FILE: path.join(dir, 'missing.jar') }).done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not return a jar/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'cache')), []);
  });

  it('exits with remoting\'s exit code', async () => {
    assert.equal((await start(['-url', jenkins.url, SECRET, 'n1'], { ...base, STANDIN_EXIT: '3' }).done).code, 3);
  });

  it('forwards SIGTERM to remoting and exits with its status', async () => {
    const events = path.join(dir, 'events');
    const { child, done } = start(['-url', jenkins.url, SECRET, 'n1'], { ...base, STANDIN_SLEEP_MS: '30000', STANDIN_EVENTS: events });
    await waitFor(events, 'ready');
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 143);
    assert.match(fs.readFileSync(events, 'utf8'), /shutdown/);
  });

  it('refuses -webSocket with -tunnel before starting anything', async () => {
    const r = await start(['-url', jenkins.url, '-webSocket', '-tunnel', 'j:1', SECRET, 'n1'], base).done;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /-webSocket cannot be combined with -tunnel j:1/);
    assert.deepEqual(jenkins.requests, []);
  });

  it('explains both uses in --help', async () => {
    const r = await start(['--help'], base).done;
    assert.equal(r.code, 0);
    assert.match(r.stdout, /jenkins-agent \[REMOTING OPTIONS\] \[SECRET\] \[AGENT_NAME\]/);
    assert.match(r.stdout, /jenkins-agent COMMAND \[ARGS\.\.\.\]/);
  });

  describe('commands instead of the agent', () => {
    it('runs a single command with its exit status', async () => {
      const script = path.join(dir, 'seven');
      fs.writeFileSync(script, '#!/bin/sh\necho from-command\nexit 7\n', { mode: 0o755 });
      const r = await start([script], base).done;
      assert.equal(r.code, 7);
      assert.equal(r.stdout, 'from-command\n');
    });

    it('reports 128+N when the command is killed by signal N', async () => {
      assert.equal((await start(['/bin/sh', '-c', 'kill -KILL $$'], base).done).code, 137);
    });

    it('forwards SIGUSR1 and SIGHUP to the command', async () => {
      const ready = path.join(dir, 'ready');
      const got = path.join(dir, 'got');
      const { child, done } = start(['/bin/sh', '-c',
        `trap 'echo usr1 >> ${got}' USR1; trap 'echo hup >> ${got}; exit 5' HUP; echo ok > ${ready}; while :; do sleep 0.05; done`], base);
      await waitFor(ready, 'ok');
      child.kill('SIGUSR1');
      await waitFor(got, 'usr1');
      child.kill('SIGHUP');
      assert.equal((await done).code, 5);
      assert.equal(fs.readFileSync(got, 'utf8'), 'usr1\nhup\n');
    });

    it('reports a missing command with 127', async () => {
      const r = await start(['/nonexistent/tool'], base).done;
      assert.equal(r.code, 127);
      assert.match(r.stderr, /cannot run \/nonexistent\/tool: not found/);
    });
  });

  describe('as PID 1 (own PID namespace)', () => {
    // an orphan re-parented to PID 1 stays a zombie unless something reaps it
    const orphanAndList = ['/bin/sh', '-c', '(sleep 0.2 &); sleep 0.8; ps -eo stat=,comm='];
    const asPid1 = ['unshare', '--pid', '--fork', '--mount-proc'];

    it('reaps orphans through a subreaper init (catatonit)', async () => {
      const r = await start(orphanAndList, base, asPid1).done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /catatonit/);
      assert.doesNotMatch(r.stdout, /^Z/m);
    });

    it('leaves a zombie without it (DRYDOCK_INIT=none), which is why the init is used', async () => {
      const r = await start(orphanAndList, { ...base, DRYDOCK_INIT: 'none' }, asPid1).done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Z\S*\s+sleep/m);
      assert.match(r.stderr, /orphaned processes will stay zombies/);
    });
  });
});
