// A build stopped from outside (Ctrl-C, `docker stop`, a Jenkins abort): the running RUN step is
// killed with its whole process group, and the work dir is handed to its cleaner. A step's
// processes do not carry the CI's environment, so a process-tree killer that goes by it (as
// Jenkins' does) would miss them: without this an aborted `npm ci` went on running.
import * as os from 'node:os';
import { log } from '../log';
import { killRunningSteps } from './isolation/spawn-step';

const cleanups = new Set<() => void>();

/** Run `fn` (synchronous, quick) if the build is interrupted; the returned function forgets it. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

let interrupted: number | undefined;

/**
 * Handle SIGINT, SIGTERM and SIGHUP for the rest of the process: kill the running step (the RUN
 * then fails, and the build ends as failed builds do, cleaning up) and exit with 128 + the signal's
 * number; when no step runs, clean up and exit at once. A second signal exits at once.
 */
export function stopOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      const code = 128 + (os.constants.signals[sig] ?? 0);
      if (interrupted !== undefined) process.exit(code);
      interrupted = code;
      // whatever the build's own error handling sets, the exit code says it was stopped
      process.on('exit', () => { process.exitCode = code; });
      const steps = killRunningSteps();
      log.error(`interrupted by ${sig}${steps ? ': stopped the running RUN step' : ''}`);
      const finish = (): never => {
        for (const fn of cleanups) {
          try { fn(); } catch { /* exiting anyway */ }
        }
        process.exit(code);
      };
      if (steps === 0) finish();
      // the killed step fails the build, which then cleans up as usual; if it does not end soon, stop
      setTimeout(finish, 3000).unref();
    });
  }
}
