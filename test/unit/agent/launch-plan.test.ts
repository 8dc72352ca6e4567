// Every argument and environment form the jenkins/inbound-agent entrypoint accepts, with the
// java command that entrypoint builds for it (derived by hand from its documented behaviour:
// word order `JAVA JAVA_OPTIONS -jar AGENT_FILE SECRET NAME TUNNEL URL WORKDIR WEB_SOCKET DIRECT
// PROTOCOLS INSTANCE_IDENTITY REMOTING_OPTS "$@"`, unquoted expansions split at whitespace).
import * as assert from 'node:assert/strict';
import { javaCommand, planLaunch, type Env, type RemotingPlan } from '../../../src/agent/launch-plan';
import { UserError } from '../../../src/log';

const JAR = '/usr/share/jenkins/agent.jar';
const notAProgram = { isProgram: () => false };

function cmd(args: string[], env: Env): string[] {
  const plan = planLaunch(args, env, notAProgram);
  assert.equal(plan.kind, 'remoting');
  return javaCommand(plan as RemotingPlan);
}

function remoting(args: string[], env: Env): RemotingPlan {
  const plan = planLaunch(args, env, notAProgram);
  assert.equal(plan.kind, 'remoting');
  return plan as RemotingPlan;
}

function rejects(args: string[], env: Env, message: RegExp): void {
  assert.throws(() => planLaunch(args, env, notAProgram), (e: unknown) => e instanceof UserError && message.test(e.message) && e.exitCode === 2);
}

describe('agent launch plan (jenkins/inbound-agent contract)', () => {
  it('passes the Amazon ECS plugin form through unchanged', () => {
    assert.deepEqual(cmd(['-url', 'http://j:8080/', '-tunnel', 'j:50000', 'SECRET', 'NAME'], {}),
      ['java', '-jar', JAR, '-url', 'http://j:8080/', '-tunnel', 'j:50000', 'SECRET', 'NAME']);
    const p = remoting(['-url', 'http://j:8080/', '-tunnel', 'j:50000', 'SECRET', 'NAME'], {});
    assert.equal(p.connection.secret, 'SECRET');
    assert.equal(p.connection.name, 'NAME');
    assert.equal(p.connection.tunnel, 'j:50000');
    assert.equal(p.connection.url, 'http://j:8080/');
  });

  it('builds the documented order from the environment alone', () => {
    assert.deepEqual(cmd([], {
      JENKINS_URL: 'http://j/', JENKINS_SECRET: 'abc123', JENKINS_AGENT_NAME: 'agent-1',
      JENKINS_TUNNEL: 'j:50000', JENKINS_AGENT_WORKDIR: '/home/jenkins/agent',
    }), ['java', '-jar', JAR, '-secret', 'abc123', '-name', 'agent-1', '-tunnel', 'j:50000', '-url', 'http://j/', '-workDir', '/home/jenkins/agent']);
  });

  it('puts -webSocket after -workDir, and only for JENKINS_WEB_SOCKET=true exactly', () => {
    const env = { JENKINS_URL: 'http://j/', JENKINS_AGENT_WORKDIR: '/w', JENKINS_WEB_SOCKET: 'true' };
    assert.deepEqual(cmd([], env), ['java', '-jar', JAR, '-url', 'http://j/', '-workDir', '/w', '-webSocket']);
    assert.equal(remoting([], env).connection.webSocket, true);
    for (const v of ['TRUE', '1', 'yes', '']) {
      assert.deepEqual(cmd([], { JENKINS_URL: 'http://j/', JENKINS_WEB_SOCKET: v }), ['java', '-jar', JAR, '-url', 'http://j/']);
    }
  });

  it('orders -direct, -protocols, -instanceIdentity and then REMOTING_OPTS before the arguments', () => {
    assert.deepEqual(cmd(['-noReconnect'], {
      JENKINS_DIRECT_CONNECTION: 'j:50000', JENKINS_PROTOCOLS: 'JNLP4-connect', JENKINS_INSTANCE_IDENTITY: 'MIIB',
      REMOTING_OPTS: '-noReconnectAfter 1d  -failIfWorkDirIsMissing', JENKINS_SECRET: 's3cr3t', JENKINS_AGENT_NAME: 'agent-7',
    }), ['java', '-jar', JAR, '-secret', 's3cr3t', '-name', 'agent-7', '-direct', 'j:50000', '-protocols', 'JNLP4-connect',
      '-instanceIdentity', 'MIIB', '-noReconnectAfter', '1d', '-failIfWorkDirIsMissing', '-noReconnect']);
  });

  it('prefers JENKINS_NAME over JENKINS_AGENT_NAME', () => {
    assert.deepEqual(cmd([], { JENKINS_URL: 'http://j/', JENKINS_NAME: 'a', JENKINS_AGENT_NAME: 'b' }),
      ['java', '-jar', JAR, '-name', 'a', '-url', 'http://j/']);
  });

  it('resolves java from JENKINS_JAVA_BIN, then JAVA_HOME, then PATH', () => {
    const base = { JENKINS_URL: 'http://j/' };
    assert.equal(cmd([], base)[0], 'java');
    assert.equal(cmd([], { ...base, JAVA_HOME: '/opt/jdk' })[0], '/opt/jdk/bin/java');
    assert.equal(cmd([], { ...base, JAVA_HOME: '/opt/jdk', JENKINS_JAVA_BIN: '/opt/other/java' })[0], '/opt/other/java');
  });

  it('takes JENKINS_JAVA_OPTS over JAVA_OPTS and splits them as sh does (quotes stay literal)', () => {
    const base = { JENKINS_URL: 'http://j/' };
    assert.deepEqual(cmd([], { ...base, JAVA_OPTS: '-Xmx1g\t-Da=1\n -Dq="x y"' }),
      ['java', '-Xmx1g', '-Da=1', '-Dq="x', 'y"', '-jar', JAR, '-url', 'http://j/']);
    assert.deepEqual(cmd([], { ...base, JAVA_OPTS: '-Xmx1g', JENKINS_JAVA_OPTS: '-Xmx2g' }),
      ['java', '-Xmx2g', '-jar', JAR, '-url', 'http://j/']);
  });

  it('uses JENKINS_AGENT_FILE as the jar', () => {
    assert.deepEqual(cmd([], { JENKINS_URL: 'http://j/', JENKINS_AGENT_FILE: '/jenkins-agent/agent.jar' }),
      ['java', '-jar', '/jenkins-agent/agent.jar', '-url', 'http://j/']);
  });

  it('lets an argument -tunnel win over JENKINS_TUNNEL', () => {
    assert.deepEqual(cmd(['-url', 'http://j/', '-tunnel', 'a:1'], { JENKINS_TUNNEL: 'b:2' }),
      ['java', '-jar', JAR, '-url', 'http://j/', '-tunnel', 'a:1']);
  });

  it('lets an argument -workDir win over JENKINS_AGENT_WORKDIR, with the upstream warning', () => {
    for (const args of [['-workDir', '/a'], ['-workDir=/a']]) {
      const p = remoting(['-url', 'http://j/', ...args], { JENKINS_AGENT_WORKDIR: '/b' });
      assert.deepEqual(javaCommand(p), ['java', '-jar', JAR, '-url', 'http://j/', ...args]);
      assert.equal(p.connection.workDir, '/a');
      assert.match(p.warnings.join('\n'), /Work directory is defined twice/);
    }
  });

  it('does not add JENKINS_SECRET / JENKINS_AGENT_NAME when the arguments already carry them', () => {
    const p = remoting(['-url', 'http://j/', 'abc', 'agent-1'], { JENKINS_SECRET: 'abc', JENKINS_AGENT_NAME: 'agent-1' });
    assert.deepEqual(javaCommand(p), ['java', '-jar', JAR, '-url', 'http://j/', 'abc', 'agent-1']);
    assert.match(p.warnings.join('\n'), /SECRET is defined twice/);
    assert.match(p.warnings.join('\n'), /AGENT_NAME is defined twice/);
  });

  it('keeps upstream\'s substring test: a name found anywhere in the arguments is not added', () => {
    // "$@" contains "n" (in -noReconnect), so jenkins/inbound-agent drops -name n with a warning
    const p = remoting(['-url', 'http://j/', '-noReconnect'], { JENKINS_AGENT_NAME: 'n' });
    assert.deepEqual(javaCommand(p), ['java', '-jar', JAR, '-url', 'http://j/', '-noReconnect']);
    assert.match(p.warnings.join('\n'), /AGENT_NAME is defined twice/);
  });

  it('passes both JENKINS_URL and -url, as upstream does, and says so', () => {
    const p = remoting(['-url', 'http://b/'], { JENKINS_URL: 'http://a/' });
    assert.deepEqual(javaCommand(p), ['java', '-jar', JAR, '-url', 'http://a/', '-url', 'http://b/']);
    // remoting tries its -url list in order
    assert.equal(p.connection.url, 'http://a/');
    assert.deepEqual(p.connection.urls, ['http://a/', 'http://b/']);
    assert.match(p.warnings.join('\n'), /-url comes from both/);
  });

  it('reads remoting\'s aliases and deprecated options with their values (-directConnection, -tcp, -connectTo)', () => {
    let p = remoting(['-directConnection', 'j:50000', '-instanceIdentity', 'MIIB', 'SECRET', 'NAME'], {});
    assert.deepEqual(javaCommand(p), ['java', '-jar', JAR, '-directConnection', 'j:50000', '-instanceIdentity', 'MIIB', 'SECRET', 'NAME']);
    assert.equal(p.connection.direct, 'j:50000');
    assert.equal(p.connection.secret, 'SECRET');
    assert.equal(p.connection.name, 'NAME');
    assert.equal(remoting(['-connectTo', 'h:1'], {}).connection.connectTo, 'h:1');
    assert.equal(remoting(['-tcp', '/tmp/port'], {}).connection.tcpPortFile, '/tmp/port');
    p = remoting(['-url', 'http://j/', '-tcp', '/tmp/port', '-connectTo', 'h:1', '-cp', '/x.jar', 's', 'n'], {});
    assert.equal(p.connection.secret, 's');
    assert.equal(p.connection.name, 'n');
    assert.deepEqual(p.warnings, []);
    rejects(['-directConnection', 'a:1', '-direct', 'b:2'], {}, /-direct \(also spelled -directConnection\) is given twice/);
    rejects(['-webSocket', '-directConnection', 'j:1'], {}, /-webSocket cannot be combined with -direct j:1/);
    assert.match(remoting(['-directConnection', 'b:2'], { JENKINS_DIRECT_CONNECTION: 'a:1' }).warnings.join('\n'), /-direct comes from both/);
  });

  it('passes @file secrets through for remoting to read', () => {
    assert.deepEqual(cmd([], { JENKINS_URL: 'http://j/', JENKINS_SECRET: '@/run/secrets/agent' }),
      ['java', '-jar', JAR, '-secret', '@/run/secrets/agent', '-url', 'http://j/']);
    assert.equal(remoting(['-url', 'http://j/', '-secret', '@/s', '-name', 'n'], {}).connection.secret, '@/s');
  });

  it('treats empty variables as unset', () => {
    assert.deepEqual(cmd(['-url', 'http://j/'], { JENKINS_URL: '', JENKINS_SECRET: '', JAVA_HOME: '', JAVA_OPTS: '', REMOTING_OPTS: '' }),
      ['java', '-jar', JAR, '-url', 'http://j/']);
  });

  it('hands -help and -version to remoting without needing a controller', () => {
    assert.deepEqual(cmd(['-help'], {}), ['java', '-jar', JAR, '-help']);
    assert.equal(remoting(['-version'], {}).connection.informational, true);
  });

  it('replaces the jar with a downloaded one as a single word', () => {
    const p = remoting(['-url', 'http://j/'], { JENKINS_AGENT_FILE: '/x.jar' });
    assert.deepEqual(javaCommand(p, '/cache dir/agent.jar'), ['java', '-jar', '/cache dir/agent.jar', '-url', 'http://j/']);
  });

  describe('commands instead of the agent', () => {
    it('runs one word that is not an option, as upstream', () => {
      assert.deepEqual(planLaunch(['/bin/sh'], {}, notAProgram), { kind: 'command', argv: ['/bin/sh'] });
      assert.deepEqual(planLaunch(['bash'], {}, notAProgram), { kind: 'command', argv: ['bash'] });
    });
    it('runs a longer command line when its first word is a program', () => {
      assert.deepEqual(planLaunch(['/bin/sh', '-c', 'echo hi'], { PATH: '/usr/bin:/bin' }), { kind: 'command', argv: ['/bin/sh', '-c', 'echo hi'] });
      assert.deepEqual(planLaunch(['sh', '-c', 'true'], { PATH: '/usr/bin:/bin' }).kind, 'command');
    });
    it('keeps positional SECRET NAME for remoting', () => {
      const p = planLaunch(['0123abcd', 'agent-1'], { JENKINS_URL: 'http://j/', PATH: '/usr/bin:/bin' });
      assert.equal(p.kind, 'remoting');
      assert.deepEqual(javaCommand(p as RemotingPlan), ['java', '-jar', JAR, '-url', 'http://j/', '0123abcd', 'agent-1']);
    });
  });

  describe('conflicts', () => {
    it('refuses -webSocket with -tunnel, from arguments or environment', () => {
      rejects(['-url', 'http://j/', '-webSocket', '-tunnel', 'j:1', 's', 'n'], {}, /-webSocket cannot be combined with -tunnel j:1/);
      rejects([], { JENKINS_URL: 'http://j/', JENKINS_WEB_SOCKET: 'true', JENKINS_TUNNEL: 'j:1' }, /JENKINS_TUNNEL/);
      rejects(['-url', 'http://j/', '-tunnel', 'j:1'], { JENKINS_WEB_SOCKET: 'true' }, /-webSocket cannot be combined with -tunnel/);
    });
    it('refuses -webSocket with -direct', () => {
      rejects(['-webSocket', '-direct', 'j:1'], {}, /-webSocket cannot be combined with -direct/);
    });
    it('refuses an option given twice in the arguments', () => {
      rejects(['-url', 'http://a/', '-name', 'a', '-name', 'b'], {}, /-name is given twice \(the arguments and the arguments\)/);
      rejects(['-url', 'http://a/', '-workDir', '/a', '-workDir=/b'], {}, /-workDir is given twice/);
      rejects(['-url', 'http://a/', '-secret', 'x'], { REMOTING_OPTS: '-secret y' }, /-secret is given twice \(REMOTING_OPTS and the arguments\)/);
    });
    it('allows the options remoting collects in lists', () => {
      assert.equal(remoting(['-url', 'http://a/', '-cert', '@a', '-cert', '@b'], {}).kind, 'remoting');
    });
    it('takes several -url and -protocols, as remoting\'s Launcher does (lists), from REMOTING_OPTS and the arguments', () => {
      let p = remoting(['-url', 'http://a/', '-url=http://b/', '-protocols', 'JNLP4-connect', 's', 'n'], { REMOTING_OPTS: '-url http://c/ -protocols Ping' });
      assert.deepEqual(javaCommand(p), ['java', '-jar', JAR, '-url', 'http://c/', '-protocols', 'Ping', '-url', 'http://a/', '-url=http://b/', '-protocols', 'JNLP4-connect', 's', 'n']);
      assert.deepEqual(p.connection.urls, ['http://c/', 'http://a/', 'http://b/']);
      assert.equal(p.connection.url, 'http://c/');
      assert.equal(p.connection.protocols, 'Ping,JNLP4-connect');
      p = remoting(['-url', 'http://a/', '-url', 'http://b/'], {});
      assert.deepEqual(p.connection.urls, ['http://a/', 'http://b/']);
    });
    it('asks for a controller when there is none', () => {
      rejects(['-workDir', '/w', 's', 'n'], {}, /no Jenkins controller given: pass -url/);
    });
    it('says what is missing after an option that needs a value', () => {
      rejects(['-url'], {}, /-url needs a value/);
    });
    it('refuses more than SECRET and NAME as positional arguments', () => {
      rejects(['-url', 'http://j/', 'a', 'b', 'c'], {}, /too many positional arguments/);
    });
  });
});
