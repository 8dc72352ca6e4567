// SSM GetParameter (with decryption): how ECS stacks hand secrets such as a Docker Hub token to tasks.
import { Logger, UserError, registerSecret } from '../log';
import type { CredentialProvider } from './credentials';
import { callJson } from './json-protocol';
import { requireRegion } from './region';

export interface GetParameterOptions {
  decrypt?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  region?: string;
  credentials?: CredentialProvider;
}

interface GetParameterOutput {
  Parameter?: { Name?: string; Type?: string; Value?: string; Version?: number };
}

/** The value of a parameter; SecureString values are registered as secrets before they are returned. */
export async function getParameter(name: string, opts: GetParameterOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (!name) throw new UserError('SSM parameter name is empty (expected e.g. /ci/dockerhub)');
  const subject = `SSM parameter "${name}"`;
  const region = opts.region ?? requireRegion(env, subject);
  const out = await callJson<GetParameterOutput>({
    service: 'ssm',
    target: 'AmazonSSM.GetParameter',
    region,
    input: { Name: name, WithDecryption: opts.decrypt ?? true },
    env,
    log: opts.log,
    credentials: opts.credentials,
    subject,
  });
  const value = out.Parameter?.Value;
  if (typeof value !== 'string') throw new UserError(`${subject}: GetParameter answered without Parameter.Value`);
  registerSecret(value);
  for (const part of value.split(':')) registerSecret(part);
  return value;
}
