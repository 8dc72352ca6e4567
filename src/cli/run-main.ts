// Shared process wrapper for every bin: run a command, print a redacted error, set the exit code.
import { UserError, describeError, log } from '../log';

export type CommandMain = (args: string[]) => Promise<number>;

export function runMain(main: CommandMain, args: string[]): void {
  main(args).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
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
