// The agent secret must never reach a log line. remoting accepts it literally or as `@FILE`
// (read by remoting itself); either way we learn the value so the redactor can mask it. The
// same holds for the credentials other remoting options and JVM properties carry: the shim logs
// the whole java command line.
import * as fs from 'node:fs';
import { UserError, registerSecret } from '../log';
import type { Env } from './launch-plan';
import { splitInlineValue } from './remoting-options';

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

/** Remoting options whose value is a credential: USER:PASSWORD, or a header NAME=VALUE. */
const CREDENTIAL_OPTIONS = new Set(['-credentials', '-jnlpCredentials', '-proxyCredentials', '-auth', '-webSocketHeader']);

/** Register the values of credential-bearing remoting options (`-auth u:p` or `-auth=u:p`). */
export function registerOptionSecrets(words: string[]): void {
  for (let i = 0; i < words.length; i++) {
    const { name, value: inline } = splitInlineValue(words[i]);
    if (!CREDENTIAL_OPTIONS.has(name)) continue;
    const value = inline ?? words[++i];
    if (value === undefined) continue;
    registerSecret(value);
    // the part after the user name or header name, as it may appear alone (a Basic header's
    // base64 of "user:password" is registered with the whole value)
    const sep = name === '-webSocketHeader' ? value.indexOf('=') : value.indexOf(':');
    if (sep >= 0) registerSecret(value.slice(sep + 1));
  }
}

// -Dhttps.proxyPassword=…, -Djavax.net.ssl.keyStorePassword=…, -Dsome.api.token=…
const SECRET_PROPERTY = /^-D[^=]*(?:password|passwd|secret|token|credentials?)=(.*)$/i;

/** Register the values of JVM system properties (JAVA_OPTS) whose names say they are secrets. */
export function registerJvmOptionSecrets(words: string[]): void {
  for (const w of words) {
    const m = SECRET_PROPERTY.exec(w);
    if (m) registerSecret(m[1]);
  }
}
