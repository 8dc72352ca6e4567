// `drydock agent` / `jenkins-agent`: the image's entrypoint. Arguments belong to remoting (or are
// a command to run), so the shim's own settings come from the environment; only --help is ours.
import { UserError, describeError, log, parseFormat, parseLevel, type Logger } from '../log';
import { agentHelp } from '../agent/help';
import { runAgent } from '../agent/run-agent';

export async function main(args: string[]): Promise<number> {
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    process.stdout.write(agentHelp);
    return 0;
  }
  const env = process.env;
  try {
    if (env.DRYDOCK_LOG_FORMAT) log.configure({ format: parseFormat(env.DRYDOCK_LOG_FORMAT) });
    if (env.DRYDOCK_VERBOSITY) log.configure({ level: parseLevel(env.DRYDOCK_VERBOSITY) });
  } catch (e) {
    throw new UserError(`DRYDOCK_LOG_FORMAT / DRYDOCK_VERBOSITY: ${describeError(e)}`, { exitCode: 2 });
  }
  const remote = env.DRYDOCK_REMOTE;
  // builds will run in the builder sidecar: say whether it answers, before Jenkins sends any
  const beforeRemoting = remote ? async (agentLog: Logger) => {
    const { sidecarHealthy } = require('../sidecar/client') as typeof import('../sidecar/client');
    if (await sidecarHealthy(remote)) agentLog.info(`builds run in the builder sidecar at ${remote}`);
    else agentLog.warn(`DRYDOCK_REMOTE=${remote}: no builder sidecar answers there (yet): builds fail until \`drydock serve\` listens on it`);
  } : undefined;
  return runAgent(args, env, { beforeRemoting });
}
