// Where composed credentials come from: a small S3 object or an SSM parameter.
import { Logger, UserError, registerSecret } from '../log';

// ../aws/s3 and ../aws/ssm are required on first use, not imported: they bring the SigV4 signer
// (@smithy, tens of ms to load), which every build would pay through credentials/index.ts.
const s3 = (): typeof import('../aws/s3') => require('../aws/s3') as typeof import('../aws/s3');
const ssm = (): typeof import('../aws/ssm') => require('../aws/ssm') as typeof import('../aws/ssm');

// config.json files and "user:token" secrets are tiny; anything bigger is the wrong object
const MAX_BYTES = 1024 * 1024;

export interface SourceOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

/** Read a whole small S3 object as text; refuses objects over 1 MiB. */
export async function readS3Text(url: string, opts: SourceOptions = {}): Promise<string> {
  const { body, contentLength } = await s3().getObjectStream(url, { env: opts.env, log: opts.log, defaultObject: null });
  if (contentLength !== undefined && contentLength > MAX_BYTES) {
    body.destroy();
    throw new UserError(`${url} is ${contentLength} bytes: a credentials file or secret is expected to be under 1 MiB`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > MAX_BYTES) {
      body.destroy();
      throw new UserError(`${url} is over 1 MiB: a credentials file or secret is expected to be smaller`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of a secret source: s3://bucket/key or ssm:/parameter/name (also ssm:name). */
export async function readSecretSource(source: string, opts: SourceOptions = {}): Promise<string> {
  let value: string;
  if (source.startsWith('s3://')) value = await readS3Text(source, opts);
  else if (source.startsWith('ssm:')) value = await ssm().getParameter(source.slice(4).replace(/^\/\/(?=\/)/, ''), { decrypt: true, env: opts.env, log: opts.log });
  else throw new UserError(`unknown secret source "${source}": expected s3://bucket/key or ssm:/parameter/name`);
  value = value.trim();
  registerSecret(value);
  return value;
}

/** Split "user:token" (the token may itself contain ':'). */
export function parseUserToken(value: string, source: string, registry: string): { username: string; password: string } {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new UserError(`secret ${source} for registry ${registry} is not in the form "user:token"`);
  }
  const username = value.slice(0, colon);
  const password = value.slice(colon + 1);
  if (/\s/.test(username)) throw new UserError(`secret ${source} for registry ${registry}: the user part contains whitespace (expected "user:token" on one line)`);
  registerSecret(password);
  return { username, password };
}
