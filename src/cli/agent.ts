// `drydock agent` / `jenkins-agent`: the image's entrypoint. Arguments belong to remoting (or are
// a command to run), so the shim's own settings come from the environment; only --help is ours.
import { UserError, describeError, log, parseFormat, parseLevel } from '../log';
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
  return runAgent(args, env);
}
