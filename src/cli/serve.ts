// `drydock serve --socket PATH`: the builder sidecar (src/sidecar/server.ts). No logic here.
import * as path from 'node:path';
import { Option } from 'commander';
import { prepareCredentials } from '../agent/credentials-prep';
import { log, UserError } from '../log';
import { serve } from '../sidecar/server';
import { addLogFlags, configureLogging, intArg, newCommand, parseCommand } from './flags';

function mode(v: string): number {
  if (!/^0?[0-7]{3}$/.test(v)) throw new UserError(`invalid value "${v}" for --socket-mode: expected octal permission bits such as 0660`, { exitCode: 2 });
  return parseInt(v, 8);
}

function owner(v: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(v);
  if (!m) throw new UserError(`invalid value "${v}" for --socket-owner: expected UID or UID:GID (numbers)`, { exitCode: 2 });
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

export async function main(args: string[]): Promise<number> {
  const cmd = addLogFlags(newCommand('serve', 'Run the builder sidecar: builds asked for over a unix socket (`executor` with DRYDOCK_REMOTE=SOCKET in another container of the task) run here.')
    .requiredOption('--socket <path>', 'unix socket to listen on (on a volume the agent container mounts too)')
    .addOption(new Option('--socket-mode <octal>', 'permission bits of the socket: who may ask for builds, which run as root here').argParser(mode).default(0o660, '0660'))
    .option('--socket-owner <uid[:gid]>', 'owner of the socket (e.g. the agent container\'s user, 1000:1000)', owner)
    .option('--max-builds <n>', 'builds at once; the others wait their turn (default: no limit)', (v) => intArg(v, 'max-builds')));
  if (!parseCommand(cmd, args)) return 0;
  const f = cmd.opts();
  configureLogging(f);
  if (f.maxBuilds === 0) throw new UserError('--max-builds 0 would never build: give 1 or more', { exitCode: 2 });
  const executor = path.resolve(__dirname, '../../../bin/executor');
  // the builder pushes, so it is the one that needs the registry credentials the agent shim
  // would compose (DRYDOCK_ECR, DRYDOCK_REGISTRY_SECRETS, DRYDOCK_CONFIG_SOURCES)
  const env = await prepareCredentials(process.env, log);
  const sidecar = await serve({ socket: path.resolve(f.socket), mode: f.socketMode, owner: f.socketOwner, executor: [executor], env, maxBuilds: f.maxBuilds, log: log.child({ component: 'sidecar' }) });
  // ECS stops a task with SIGTERM: stop the running builds (they clean up), remove the socket
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info(`${signal}: stopping the builder sidecar`);
      resolve();
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, stop);
  });
  await sidecar.close();
  return 0;
}
