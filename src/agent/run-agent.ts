// The shim from start to finish: plan, credentials, controller check, agent.jar, supervise.
import * as os from 'node:os';
import * as path from 'node:path';
import { log as rootLog, type Logger } from '../log';
import { resolveAgentJar, parsePolicy } from './agent-jar';
import { backoffFromEnv, type BackoffOptions } from './backoff';
import { checkController, type ControllerFacts } from './controller-check';
import { prepareCredentials, type ComposeDockerConfig } from './credentials-prep';
import { javaCommand, planLaunch, type Env, type PlanOptions } from './launch-plan';
import { registerAgentSecret, registerJvmOptionSecrets, registerOptionSecrets } from './secret-values';
import { supervise } from './supervise';

export interface AgentDeps extends PlanOptions {
  log?: Logger;
  compose?: ComposeDockerConfig;
  isPid1?: boolean;
  /** for tests: sleep between retries */
  sleep?: (ms: number) => Promise<void>;
  /** runs before remoting starts (not for a command): the builder sidecar's check */
  beforeRemoting?: (log: Logger) => Promise<void>;
}

export async function runAgent(args: string[], env: Env, deps: AgentDeps = {}): Promise<number> {
  const log = deps.log ?? rootLog.child({ component: 'agent' });
  const plan = planLaunch(args, env, deps);
  if (plan.kind === 'command') {
    log.debug('running command instead of the agent', { command: plan.argv[0] });
    return supervise(plan.argv, { env, log, isPid1: deps.isPid1 });
  }
  const conn = plan.connection;
  registerAgentSecret(conn.secret, env);
  // before anything is logged: the command line below carries these
  registerOptionSecrets(plan.remotingArgs);
  registerJvmOptionSecrets([...plan.javaBin, ...plan.javaOptions]);
  for (const w of plan.warnings) log.warn(w);

  const childEnv: Env = { ...env, ...(await prepareCredentials(env, log, deps.compose)) };
  await deps.beforeRemoting?.(log);

  const backoff: BackoffOptions = { ...backoffFromEnv(env), sleep: deps.sleep };
  let facts: ControllerFacts | undefined;
  if (env.DRYDOCK_AGENT_SKIP_CHECK === 'true') {
    log.info('controller check skipped (DRYDOCK_AGENT_SKIP_CHECK=true)');
  } else if (conn.url !== undefined && !conn.informational) {
    facts = await checkController(conn, { backoff, log });
  }

  const jar = await resolveAgentJar({
    imageJar: plan.agentFile,
    // the URL that answered the check, else the one remoting tries first
    controllerUrl: conn.informational ? undefined : facts?.url ?? conn.url,
    minVersion: facts?.minRemotingVersion,
    cacheDir: env.DRYDOCK_AGENT_JAR_CACHE || path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache'), 'drydock'),
    policy: parsePolicy(env.DRYDOCK_AGENT_JAR_DOWNLOAD),
    skipCertificateCheck: conn.skipCertificateCheck,
    backoff,
    log,
  });

  const argv = javaCommand(plan, jar.source === 'image' ? undefined : jar.path);
  log.info('starting remoting', {
    agent: conn.name,
    mode: conn.webSocket ? 'websocket' : conn.direct ? 'direct' : 'tcp',
    jar: jar.path,
    remoting: jar.version,
    command: argv.join(' '),
  });
  const status = await supervise(argv, { env: childEnv, log, isPid1: deps.isPid1 });
  log.info('remoting exited', { status });
  return status;
}
