// The agent secret must never reach a log line. remoting accepts it literally or as `@FILE`
// (read by remoting itself); either way we learn the value so the redactor can mask it.
import * as fs from 'node:fs';
import { UserError, registerSecret } from '../log';
import type { Env } from './launch-plan';

/** Register every form of the agent secret; a missing `@FILE` is reported before java starts. */
export function registerAgentSecret(secret: string | undefined, env: Env): void {
  registerSecret(env.JENKINS_SECRET);
  if (secret === undefined) return;
  registerSecret(secret);
  if (!secret.startsWith('@')) return;
  const file = secret.slice(1);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: any) {
    throw new UserError(
      `agent secret file ${file} (given as ${secret}) cannot be read: ${e.code ?? e.message}. ` +
        'Mount the file, or pass the secret itself in JENKINS_SECRET.',
      { exitCode: 2 },
    );
  }
  const value = text.trim();
  if (!value) throw new UserError(`agent secret file ${file} is empty: expected the agent's secret (hex)`, { exitCode: 2 });
  registerSecret(value);
}
