// `drydock remote [--socket PATH] [--health] [-- EXECUTOR ARGS]`: a build in the builder sidecar
// (src/sidecar/client.ts), as `executor` and `drydock build` / `push` send it when DRYDOCK_REMOTE
// names the socket. No logic here.
import { UserError } from '../log';
import { runRemoteBuild, sidecarHealthy } from '../sidecar/client';
import { newCommand, parseCommand } from './flags';

export async function main(args: string[]): Promise<number> {
  const cmd = newCommand('remote', 'Run a build in the builder sidecar (`drydock serve`), or check that it answers.')
    .option('--socket <path>', 'the sidecar\'s unix socket (default: $DRYDOCK_REMOTE)')
    .option('--health', 'exit 0 when the sidecar answers, 1 when not (an ECS health check)')
    .argument('[executor-args...]', 'the build\'s executor arguments, after --')
    .allowExcessArguments(true);
  if (!parseCommand(cmd, args)) return 0;
  const f = cmd.opts();
  const socket: string | undefined = f.socket ?? process.env.DRYDOCK_REMOTE;
  if (!socket) throw new UserError('no sidecar socket: pass --socket PATH or set DRYDOCK_REMOTE', { exitCode: 2 });
  if (f.health) return (await sidecarHealthy(socket)) ? 0 : 1;
  if (cmd.args.length === 0) throw new UserError('no build to run: give the executor\'s arguments after --, e.g. drydock remote -- --context . --destination REF', { exitCode: 2 });
  return runRemoteBuild(socket, cmd.args);
}
