// Errors of the Dockerfile front end. Inner helpers throw InstructionError (no location known);
// the parser turns it into a UserError that names the file and line.
import { UserError } from '../log';

/** A problem with one instruction: what is wrong and what was expected instead. */
export class InstructionError extends Error {
  constructor(
    readonly what: string,
    readonly expected?: string,
  ) {
    super(expected ? `${what}, expected ${expected}` : what);
    this.name = 'InstructionError';
  }
}

/** The user-facing error for a Dockerfile location: "<file>:<line>: <what>, expected <expected>". */
export function dockerfileError(file: string, line: number, what: string, expected?: string): UserError {
  return new UserError(`${file}:${line}: ${what}${expected ? `, expected ${expected}` : ''}`);
}

/** Wraps any error thrown while handling the instruction at file:line into a located UserError. */
export function locate(err: unknown, file: string, line: number): UserError {
  if (err instanceof UserError) return err;
  if (err instanceof InstructionError) return dockerfileError(file, line, err.what, err.expected);
  if (err instanceof Error) return dockerfileError(file, line, err.message);
  return dockerfileError(file, line, String(err));
}
