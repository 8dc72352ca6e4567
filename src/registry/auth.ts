// Registry authentication: what a host asked for at /v2/ (nothing, Basic, Bearer), credentials from
// the keychain, and the Docker token flow (https://distribution.github.io/distribution/spec/auth/token/)
// with a token cache per (host, scopes) kept until shortly before the token expires.
import type { Dispatcher } from 'undici';
import { undici } from './undici';
import type { AuthConfig, Keychain } from '../credentials/keychain';
import { isAnonymous } from '../credentials/keychain';
import { registerSecret, type Logger } from '../log';
import { DOCKER_HUB } from '../image/reference';
import type { Challenge } from './challenge';
import { networkError, parseErrorBody, parseRetryAfter, RegistryError } from './errors';

export type HostAuth =
  | { scheme: 'none' }
  | { scheme: 'basic' }
  | { scheme: 'bearer'; realm: string; service?: string };

/** The host's auth scheme from its /v2/ challenge. */
export function hostAuthFrom(challenge: Challenge | undefined, registry: string): HostAuth {
  if (!challenge) return { scheme: 'none' };
  if (challenge.scheme === 'basic') return { scheme: 'basic' };
  if (challenge.scheme === 'bearer') {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`registry ${registry} sent a Bearer challenge without a realm`, { registry });
    return { scheme: 'bearer', realm, service: challenge.params.service };
  }
  throw new RegistryError(`registry ${registry} asks for unsupported authentication "${challenge.scheme}" (expected Basic or Bearer)`, { registry });
}

/** Scope strings for the token flow. */
export function repositoryScope(repository: string, actions: Array<'pull' | 'push'>): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** The keychain key of a registry: Docker Hub is known to credential stores as index.docker.io. */
export function keychainKey(registry: string): string {
  return registry === DOCKER_HUB ? 'index.docker.io' : registry;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface TokenEndpointAccess {
  /** The dispatcher (TLS settings) for the realm's host. */
  dispatcherFor(host: string): Dispatcher;
  userAgent: string;
}

export class Authenticator {
  private readonly creds = new Map<string, Promise<AuthConfig>>();
  private readonly tokens = new Map<string, CachedToken>();

  constructor(private readonly keychain: Keychain, private readonly access: TokenEndpointAccess, private readonly log: Logger) {}

  /** Credentials for a registry, asked of the keychain once per registry. */
  credentials(registry: string): Promise<AuthConfig> {
    let p = this.creds.get(registry);
    if (!p) {
      p = this.keychain.resolve(keychainKey(registry)).then((a) => {
        registerSecret(a.password);
        registerSecret(a.identityToken);
        registerSecret(a.registryToken);
        return a;
      });
      p.catch(() => this.creds.delete(registry));
      this.creds.set(registry, p);
    }
    return p;
  }

  private tokenKey(apiHost: string, scopes: string[]): string {
    return `${apiHost} ${[...new Set(scopes)].sort().join(' ')}`;
  }

  forget(apiHost: string, scopes: string[]): void {
    this.tokens.delete(this.tokenKey(apiHost, scopes));
  }

  /** The Authorization header value for a request, or undefined for an anonymous request. */
  async header(hostAuth: HostAuth, apiHost: string, registry: string, repository: string | undefined, scopes: string[]): Promise<string | undefined> {
    const creds = await this.credentials(registry);
    if (creds.registryToken) return `Bearer ${creds.registryToken}`;
    if (hostAuth.scheme === 'none') return undefined;
    if (hostAuth.scheme === 'basic') {
      if (!creds.username && !creds.password) return undefined;
      return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
    }
    const key = this.tokenKey(apiHost, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const fresh = await this.fetchToken(hostAuth, registry, repository, scopes, creds);
    this.tokens.set(key, fresh);
    return `Bearer ${fresh.token}`;
  }

  private async fetchToken(
    auth: { realm: string; service?: string },
    registry: string,
    repository: string | undefined,
    scopes: string[],
    creds: AuthConfig,
  ): Promise<CachedToken> {
    let realm: URL;
    try {
      realm = new URL(auth.realm);
    } catch {
      throw new RegistryError(`registry ${registry} sent an invalid token realm "${auth.realm}"`, { registry, repository });
    }
    const headers: Record<string, string> = { 'user-agent': this.access.userAgent, accept: 'application/json' };
    const dispatcher = this.access.dispatcherFor(realm.host);
    const uniqueScopes = [...new Set(scopes)];
    let res: Dispatcher.ResponseData;
    try {
      if (creds.identityToken) {
        // OAuth2 refresh-token grant (config.json "identitytoken", e.g. from `docker login` to ACR)
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'drydock' });
        if (auth.service) form.set('service', auth.service);
        if (uniqueScopes.length) form.set('scope', uniqueScopes.join(' '));
        headers['content-type'] = 'application/x-www-form-urlencoded';
        res = await undici().request(realm, { method: 'POST', headers, body: form.toString(), dispatcher });
      } else {
        const url = new URL(realm);
        if (auth.service) url.searchParams.set('service', auth.service);
        for (const s of uniqueScopes) url.searchParams.append('scope', s);
        if (creds.username || creds.password) {
          headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
        }
        res = await undici().request(url, { method: 'GET', headers, dispatcher });
      }
    } catch (e) {
      const err = networkError(e, realm.host, repository);
      throw new RegistryError(`token server ${realm.origin} for registry ${registry}: ${err.message}`, {
        registry, repository, retryable: err.retryable, cause: e,
      });
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      const why = parseErrorBody(text)?.message ?? `HTTP ${res.statusCode}`;
      const who = isAnonymous(creds) ? 'no credentials configured' : why;
      throw new RegistryError(`authentication failed for ${registry} (${repository ?? 'registry'}): ${who}`, {
        registry, repository, status: res.statusCode, code: 'UNAUTHORIZED',
      });
    }
    if (res.statusCode !== 200) {
      const retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
      throw new RegistryError(
        `token server ${realm.origin} for registry ${registry} answered ${res.statusCode}: ${parseErrorBody(text)?.message ?? ''}`.trim(),
        { registry, repository, status: res.statusCode, retryable, retryAfterMs: parseRetryAfter(res.headers['retry-after']) },
      );
    }
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      doc = JSON.parse(text);
    } catch {
      throw new RegistryError(`token server ${realm.origin} for registry ${registry} sent a response that is not JSON`, { registry, repository });
    }
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw new RegistryError(`token server ${realm.origin} for registry ${registry} sent no token`, { registry, repository });
    registerSecret(token);
    // The spec's minimum lifetime is 60 s; renew 10 s early so a token never expires mid-request.
    const lifetime = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    const issued = typeof doc.issued_at === 'string' && !Number.isNaN(Date.parse(doc.issued_at)) ? Math.min(Date.parse(doc.issued_at), Date.now()) : Date.now();
    this.log.debug('obtained registry token', { registry, scopes: uniqueScopes, expiresIn: lifetime });
    return { token, expiresAt: issued + Math.max(lifetime - 10, 5) * 1000 };
  }
}
