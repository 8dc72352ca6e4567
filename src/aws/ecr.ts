// ECR GetAuthorizationToken (private registries) and ECR Public's, decoded into user/password.
import { Logger, UserError, registerSecret } from '../log';
import type { CredentialProvider } from './credentials';
import { callJson } from './json-protocol';

export interface EcrToken {
  username: string;
  password: string;
  expiresAt: Date;
  proxyEndpoint?: string;
}

export interface EcrTokenOptions {
  region: string;
  /** 12-digit registry (account) ids; omitted = the caller's own registry. */
  registryIds?: string[];
  /** ECR Public (public.ecr.aws) instead of private ECR. */
  public?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  credentials?: CredentialProvider;
  /** For messages: which registry wanted the token. */
  registry?: string;
}

interface AuthorizationData {
  authorizationToken?: string;
  expiresAt?: number | string;
  proxyEndpoint?: string;
}

function decode(data: AuthorizationData, subject: string): EcrToken {
  if (!data.authorizationToken) throw new UserError(`${subject}: GetAuthorizationToken answered without an authorizationToken`);
  registerSecret(data.authorizationToken);
  const plain = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  if (colon <= 0) throw new UserError(`${subject}: the authorizationToken is not base64 "user:password"`);
  const password = plain.slice(colon + 1);
  registerSecret(password);
  // JSON 1.1 timestamps are epoch seconds (possibly fractional)
  const exp = typeof data.expiresAt === 'number' ? new Date(data.expiresAt * 1000) : data.expiresAt ? new Date(data.expiresAt) : new Date(Date.now() + 12 * 3600_000);
  return { username: plain.slice(0, colon), password, expiresAt: exp, proxyEndpoint: data.proxyEndpoint };
}

export async function getAuthorizationToken(opts: EcrTokenOptions): Promise<EcrToken> {
  const subject = `ECR login for ${opts.registry ?? (opts.public ? 'public.ecr.aws' : `registry ${opts.registryIds?.join(',') ?? '(default)'} in ${opts.region}`)}`;
  if (opts.public) {
    const out = await callJson<{ authorizationData?: AuthorizationData }>({
      service: 'ecr-public',
      target: 'SpencerFrontendService.GetAuthorizationToken',
      region: opts.region,
      input: {},
      env: opts.env,
      log: opts.log,
      credentials: opts.credentials,
      subject,
    });
    if (!out.authorizationData) throw new UserError(`${subject}: GetAuthorizationToken answered without authorizationData`);
    return decode(out.authorizationData, subject);
  }
  const input = opts.registryIds?.length ? { registryIds: opts.registryIds } : {};
  const out = await callJson<{ authorizationData?: AuthorizationData[] }>({
    service: 'ecr',
    target: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
    region: opts.region,
    input,
    env: opts.env,
    log: opts.log,
    credentials: opts.credentials,
    subject,
  });
  const first = out.authorizationData?.[0];
  if (!first) throw new UserError(`${subject}: GetAuthorizationToken answered without authorizationData`);
  return decode(first, subject);
}
