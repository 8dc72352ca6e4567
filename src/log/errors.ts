// Errors that a person acts on. A UserError is printed without a stack trace; its message must
// name what was wrong (file and line, registry, object) and what was expected.
import { redact } from './redact';

export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, opts: { cause?: unknown; exitCode?: number } = {}) {
    super(redact(message), opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'UserError';
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** The text to show for any thrown value, redacted. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return redact(err.message);
  return redact(String(err));
}
