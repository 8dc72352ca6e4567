// Shared process wrapper for every bin: run a command, print a redacted error, set the exit code.
import { UserError, describeError, log } from '../log';

export type CommandMain = (args: string[]) => Promise<number>;

export function runMain(main: CommandMain, args: string[]): void {
  let settled = false;
  // Node ends a process whose event loop is empty even while a promise still waits (on a stream
  // that ended unseen, say): with code 0, as if the command had succeeded. Never so.
  const stalled = (): void => {
    if (settled) return;
    settled = true;
    log.error('internal error: the command stopped waiting for something that can no longer happen (nothing left to run); it did not finish');
    process.exitCode = 70;
  };
  process.once('beforeExit', stalled);
  main(args).then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (err: unknown) => {
      settled = true;
      if (err instanceof UserError) {
        log.error(err.message);
        process.exitCode = err.exitCode;
      } else {
        log.error(`internal error: ${describeError(err)}`);
        if (process.env.DRYDOCK_DEBUG && err instanceof Error && err.stack) log.error(err.stack);
        process.exitCode = 70;
      }
    },
  );
}
