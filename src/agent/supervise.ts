// Run one child as if we had exec'd it: stdio inherited, signals forwarded, its exit status
// becomes ours (128 + signal number when a signal ended it, as sh reports it).
//
// Zombies when we are PID 1: orphaned grandchildren are re-parented to PID 1, and Node can only
// wait for the children it spawned itself (libuv waits per pid, never waitpid(-1)), and it cannot
// become a child subreaper without native code. So when we are PID 1 we start the child under a
// small init that registers as child subreaper (catatonit does so automatically when it is not
// PID 1, tini with -s): orphans below it go to that init, which reaps them, and nothing but our
// own child is ever re-parented to us. Without such an init we warn and run the child directly;
// the task definition's `initProcessEnabled` (docker --init) is the other way to get a reaper.
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { UserError, type Logger } from '../log';
import { isProgramOnPath, type Env } from './launch-plan';

export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface SuperviseOptions {
  env: Env;
  log: Logger;
  /** defaults to process.pid === 1 */
  isPid1?: boolean;
  /** for tests: the signals to listen to on this process */
  signals?: NodeJS.Signals[];
}

/** Known inits and how to make them a subreaper that runs one command. */
const inits: Array<{ name: string; args: string[] }> = [
  { name: 'catatonit', args: ['--'] },
  { name: 'tini', args: ['-s', '--'] },
  { name: 'tini-static', args: ['-s', '--'] },
];

/**
 * The argv prefix that puts an init in front of the child, or [] when none is needed or found.
 * DRYDOCK_INIT=none disables it; DRYDOCK_INIT=/path/to/tini|catatonit picks one.
 */
export function initPrefix(env: Env, isPid1: boolean, log: Logger): string[] {
  if (!isPid1) return [];
  const choice = env.DRYDOCK_INIT;
  if (choice === 'none') {
    log.warn('running as PID 1 without an init (DRYDOCK_INIT=none): orphaned processes will stay zombies');
    return [];
  }
  if (choice) {
    const base = choice.split('/').pop() as string;
    const known = inits.find((i) => i.name === base);
    if (!known) throw new UserError(`DRYDOCK_INIT=${choice}: expected none, or a path to catatonit or tini`, { exitCode: 2 });
    if (!isProgramOnPath(choice, env)) throw new UserError(`DRYDOCK_INIT=${choice}: no such executable`, { exitCode: 2 });
    return [choice, ...known.args];
  }
  for (const i of inits) if (isProgramOnPath(i.name, env)) return [i.name, ...i.args];
  log.warn(
    'running as PID 1 and no catatonit or tini on PATH: orphaned processes will stay zombies. ' +
      'Enable initProcessEnabled in the ECS task definition (or `docker run --init`).',
  );
  return [];
}

/** Spawn argv and mirror its life; resolves with the exit status to use for this process. */
export function supervise(argv: string[], opts: SuperviseOptions): Promise<number> {
  const isPid1 = opts.isPid1 ?? process.pid === 1;
  const full = [...initPrefix(opts.env, isPid1, opts.log), ...argv];
  const signals = opts.signals ?? FORWARDED_SIGNALS;
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), { stdio: 'inherit', env: opts.env as NodeJS.ProcessEnv });
    const forward = (sig: NodeJS.Signals): void => {
      opts.log.debug('forwarding signal', { signal: sig, pid: child.pid });
      try {
        child.kill(sig);
      } catch {
        // the child is already gone; its exit is on its way
      }
    };
    for (const s of signals) process.on(s, forward);
    const done = (): void => {
      for (const s of signals) process.removeListener(s, forward);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === 'ENOENT') {
        reject(new UserError(`cannot run ${full[0]}: not found. ${hintFor(full[0])}`, { exitCode: 127 }));
      } else if (err.code === 'EACCES') {
        reject(new UserError(`cannot run ${full[0]}: permission denied (not executable?)`, { exitCode: 126 }));
      } else {
        reject(err);
      }
    });
    child.once('exit', (code, signal) => {
      done();
      if (signal) {
        const n = os.constants.signals[signal] ?? 0;
        opts.log.debug('child ended by signal', { signal, status: 128 + n });
        resolve(128 + n);
      } else {
        resolve(code ?? 0);
      }
    });
  });
}

function hintFor(program: string): string {
  if (program === 'java' || program.endsWith('/java')) {
    return 'Set JENKINS_JAVA_BIN to the java executable, or JAVA_HOME to a JDK/JRE directory.';
  }
  return 'Check the command name and PATH.';
}
