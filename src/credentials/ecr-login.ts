// Native ecr-login: what docker-credential-ecr-login does, without the binary. Tokens are cached
// per registry until half their lifetime has passed, and a cached token that has not yet expired
// is reused when GetAuthorizationToken fails (ECR throttles; a build should not die of it).
// ../aws/ecr is required on first use, not imported: it brings the SigV4 signer (@smithy, tens of
// ms to load), which every build would pay through the keychain, while only ECR hosts need it.
import type { EcrToken } from '../aws/ecr';
import type { CredentialProvider } from '../aws/credentials';
import { requireRegion } from '../aws/region';
import { Logger, UserError, describeError, log as rootLog } from '../log';
import { ECR_PUBLIC_HOST, ECR_PUBLIC_REGION, parseEcrHost } from './ecr-host';
import type { AuthConfig } from './keychain';

interface CacheEntry {
  token: EcrToken;
  fetchedAt: number;
}

// Shared by every keychain in the process: one token per registry, not one per pull.
const cache = new Map<string, CacheEntry>();

export function clearEcrTokenCache(): void {
  cache.clear();
}

export interface EcrLoginOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  credentials?: CredentialProvider;
  now?: () => number;
}

export class EcrLogin {
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: EcrLoginOptions = {}) {
    this.env = opts.env ?? process.env;
    this.log = (opts.log ?? rootLog).child({ component: 'ecr-login' });
    this.now = opts.now ?? Date.now;
  }

  /**
   * Credentials for a registry host. An ECR host gives its own region and account; any other host
   * (a private DNS name in front of ECR) uses the configured region and the caller's own registry.
   */
  async get(registry: string): Promise<AuthConfig> {
    const ecr = parseEcrHost(registry);
    const region = ecr?.region ?? requireRegion(this.env, `ecr-login for registry ${registry} (not an ECR host name, so the region cannot come from it)`);
    const env = ecr?.fips ? { ...this.env, AWS_USE_FIPS_ENDPOINT: 'true' } : this.env;
    const isPublic = ecr?.kind === 'public';
    const key = `${isPublic ? 'public' : 'private'}|${region}|${ecr?.registryId ?? '-'}|${registry}`;
    const hit = cache.get(key);
    const now = this.now();
    if (hit && now < hit.fetchedAt + (hit.token.expiresAt.getTime() - hit.fetchedAt) / 2) {
      return { username: hit.token.username, password: hit.token.password };
    }
    try {
      const { getAuthorizationToken } = require('../aws/ecr') as typeof import('../aws/ecr');
      const token = await getAuthorizationToken({
        region: isPublic ? ECR_PUBLIC_REGION : region,
        registryIds: ecr?.registryId ? [ecr.registryId] : undefined,
        public: isPublic,
        env,
        log: this.opts.log,
        credentials: this.opts.credentials,
        registry: isPublic ? ECR_PUBLIC_HOST : registry,
      });
      cache.set(key, { token, fetchedAt: now });
      this.log.debug('ECR token obtained', { registry, expiresAt: token.expiresAt.toISOString() });
      return { username: token.username, password: token.password };
    } catch (e) {
      if (hit && now < hit.token.expiresAt.getTime()) {
        this.log.warn(`ECR GetAuthorizationToken failed for ${registry}; reusing the cached token (valid until ${hit.token.expiresAt.toISOString()})`, { error: describeError(e) });
        return { username: hit.token.username, password: hit.token.password };
      }
      if (e instanceof UserError) throw e;
      throw new UserError(`ECR login for registry ${registry} failed: ${describeError(e)}`, { cause: e });
    }
  }
}
