// One HTTP exchange with a registry: find the host's scheme and auth by pinging /v2/, attach the
// right Authorization (to the registry's own origin only), answer a 401 challenge once (new scopes
// or an expired token), follow redirects, and map failures to RegistryErrors.
// `request` adds the retry policy around it; bodies come from openers so every attempt can resend.
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { undici } from './undici';
import type { Keychain } from '../credentials/keychain';
import { isAnonymous } from '../credentials/keychain';
import { redactHeaders, type Logger } from '../log';
import { registryApiHost } from '../image/reference';
import { Authenticator, hostAuthFrom, type HostAuth } from './auth';
import { parseChallenges, pickChallenge } from './challenge';
import { isTlsError, networkError, parseErrorBody, parseRetryAfter, RegistryError } from './errors';
import { withRetries, type RetryPolicy } from './retry';
import { isLoopbackHost, type Direction, type Transport } from './transport';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
export type Body = Buffer | string | Readable;

export interface SendOptions {
  /** Normalized registry as in a Reference ("docker.io", "127.0.0.1:5000"). */
  registry: string;
  repository?: string;
  direction: Direction;
  method: Method;
  /** A path under the registry ("/v2/…") or an absolute URL (an upload Location). */
  url: string;
  headers?: Record<string, string>;
  /** Called for every attempt, so a retried or re-authenticated request sends the whole body again. */
  body?: () => Body | Promise<Body>;
  /** Token scopes the request needs ("repository:a/b:pull,push"). */
  scopes: string[];
  followRedirects?: boolean;
  /** Names the object in errors ("manifest latest of 127.0.0.1:5000/app"). */
  what: string;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: URL;
}

type PingAnswer = { res: Dispatcher.ResponseData; text: string } | { error: unknown };

interface HostState {
  origin: string;
  auth: HostAuth;
}

const MAX_REDIRECTS = 5;
const ERROR_BODY_LIMIT = 64 * 1024;

/** Read at most `limit` bytes of a body as text, discarding the rest. */
export async function readText(body: Readable, limit = ERROR_BODY_LIMIT): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    if (n < limit) chunks.push(b.subarray(0, limit - n));
    n += b.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Read a whole (small) body; a body larger than `limit` is an error naming `what`. */
export async function readAll(body: Readable, limit: number, what: string, registry: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    n += b.length;
    if (n > limit) {
      body.destroy();
      throw new RegistryError(`${what} from ${registry} is larger than ${limit} bytes; refusing to hold it in memory`, { registry });
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export class RegistryHttp {
  private readonly hosts = new Map<string, Promise<HostState>>();
  readonly auth: Authenticator;

  constructor(readonly transport: Transport, keychain: Keychain, readonly log: Logger, private readonly policies: Record<Direction, RetryPolicy>) {
    this.auth = new Authenticator(keychain, {
      dispatcherFor: (host) => transport.dispatcherFor(host, 'pull'),
      userAgent: transport.userAgent,
    }, log);
  }

  /** Scheme and auth scheme of a registry (GET /v2/), once per host; a failed ping is not remembered. */
  ping(registry: string, direction: Direction): Promise<HostState> {
    const apiHost = registryApiHost(registry);
    let p = this.hosts.get(apiHost);
    if (!p) {
      p = this.doPing(registry, apiHost, direction);
      p.catch(() => this.hosts.delete(apiHost));
      this.hosts.set(apiHost, p);
    }
    return p;
  }

  private async doPing(registry: string, apiHost: string, direction: Direction): Promise<HostState> {
    const { schemes, dispatcher } = this.transport.endpoint(apiHost, direction);
    const ask = (scheme: 'https' | 'http') => {
      const origin = `${scheme}://${apiHost}`;
      const answer: Promise<PingAnswer> = undici().request(`${origin}/v2/`, { method: 'GET', headers: { 'user-agent': this.transport.userAgent }, dispatcher })
        .then(async (res) => ({ res, text: await readText(res.body) }))
        .catch((error: unknown) => ({ error }));
      return { scheme, origin, answer };
    };
    // A registry on this machine's loopback is asked over plain HTTP first, alone: there is no
    // network to protect, and the usual local registry answers at once, before TLS is even loaded
    // (~10-20 ms of a small build). Only when that is no registry's answer does https come in.
    let plainFirst: ReturnType<typeof ask> | undefined;
    if (schemes.length > 1 && schemes.includes('http') && isLoopbackHost(apiHost)) {
      plainFirst = ask('http');
      const got = await plainFirst.answer;
      if (!('error' in got) && (got.res.statusCode === 200 || got.res.statusCode === 401)) return this.pinged(registry, apiHost, 'http', plainFirst.origin, got.res);
    }
    // Every allowed scheme is asked at once (https and, for an insecure registry, http): a
    // refused TLS handshake then costs nothing extra. Answers are still taken in order of preference.
    const attempts = schemes.map((scheme) => (scheme === 'http' && plainFirst ? plainFirst : ask(scheme)));
    let firstError: unknown;
    for (const { scheme, origin, answer } of attempts) {
      const got = await answer;
      if ('error' in got) {
        this.log.debug('ping failed', { registry, origin, error: (got.error as Error).message });
        firstError ??= got.error;
        continue;
      }
      const { res, text } = got;
      if (res.statusCode === 200 || res.statusCode === 401) return this.pinged(registry, apiHost, scheme, origin, res);
      // An https server reached over http answers 400: the https failure is the real story then.
      if (res.statusCode === 400 && firstError && isTlsError(firstError)) break;
      const retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
      throw new RegistryError(
        `registry ${registry} answered ${res.statusCode} at ${origin}/v2/ (expected 200 or 401): ${parseErrorBody(text)?.message ?? 'not a registry API?'}`,
        { registry, status: res.statusCode, retryable, retryAfterMs: parseRetryAfter(res.headers['retry-after']) },
      );
    }
    throw networkError(firstError, registry);
  }

  private pinged(registry: string, apiHost: string, scheme: 'https' | 'http', origin: string, res: Dispatcher.ResponseData): HostState {
    this.transport.rememberScheme(apiHost, scheme);
    const auth = res.statusCode === 200 ? { scheme: 'none' as const } : hostAuthFrom(pickChallenge(parseChallenges(res.headers['www-authenticate'])), registry);
    this.log.debug('registry pinged', { registry, origin, auth: auth.scheme });
    return { origin, auth };
  }

  private async sendOnce(o: SendOptions, host: HostState, url: URL, authHeader: string | undefined): Promise<RegistryResponse> {
    const headers: Record<string, string> = { 'user-agent': this.transport.userAgent, ...o.headers };
    const apiHost = registryApiHost(o.registry);
    for (let redirects = 0; ; redirects++) {
      // Another origin (an upload Location, a blob redirect) is reached with that host's TLS
      // settings merged with the registry's, and failures there name that host.
      const elsewhere = url.origin === host.origin ? undefined : url.host;
      const dispatcher = elsewhere ? this.transport.redirectDispatcherFor(elsewhere, apiHost, o.direction) : this.transport.dispatcherFor(apiHost, o.direction);
      // Our credentials go to the registry's origin only, as go-containerregistry's transport does:
      // an upload Location or a redirect may name blob storage (S3, a CDN) with its own
      // credentials in the URL, or any host at all.
      if (authHeader && url.origin === host.origin) headers.authorization = authHeader;
      else delete headers.authorization;
      const body = o.body ? await o.body() : undefined;
      let res: Dispatcher.ResponseData;
      try {
        res = await undici().request(url, { method: o.method, headers, body, dispatcher });
      } catch (e) {
        if (body && typeof body === 'object' && 'destroy' in body) (body as Readable).destroy();
        throw networkError(e, o.registry, o.repository, elsewhere);
      }
      if (this.log.enabled('debug')) {
        this.log.debug('registry request', { method: o.method, url: url.toString(), status: res.statusCode, headers: redactHeaders(headers) });
      }
      const location = res.headers.location;
      if (o.followRedirects && [301, 302, 303, 307, 308].includes(res.statusCode) && typeof location === 'string' && redirects < MAX_REDIRECTS) {
        await res.body.dump();
        url = new URL(location, url);
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    }
  }

  /** One exchange with authentication; the caller judges the status. 401 after authenticating throws. */
  async send(o: SendOptions): Promise<RegistryResponse> {
    const host = await this.ping(o.registry, o.direction);
    const url = new URL(o.url, host.origin);
    const apiHost = registryApiHost(o.registry);
    let scopes = o.scopes;
    let authHeader = await this.auth.header(host.auth, apiHost, o.registry, o.repository, scopes);
    let res = await this.sendOnce(o, host, url, authHeader);
    if (res.status !== 401) return res;
    // Blob storage refusing the signed URL the registry sent us to: no token of ours changes that.
    if (res.url.origin !== host.origin) throw await this.storageRefused(o, res);

    // Challenged: the token expired or the registry wants more scopes (it names them). Try once more.
    const challenge = pickChallenge(parseChallenges(res.headers['www-authenticate']));
    const text = await readText(res.body);
    if (host.auth.scheme === 'bearer' && challenge?.scheme === 'bearer') {
      this.auth.forget(apiHost, scopes);
      const asked = (challenge.params.scope ?? '').split(' ').filter(Boolean);
      scopes = [...new Set([...scopes, ...asked])];
      authHeader = await this.auth.header(host.auth, apiHost, o.registry, o.repository, scopes);
      res = await this.sendOnce(o, host, url, authHeader);
      if (res.status !== 401) return res;
      if (res.url.origin !== host.origin) throw await this.storageRefused(o, res);
      const again = pickChallenge(parseChallenges(res.headers['www-authenticate']));
      throw await this.authError(o, await readText(res.body), again?.params.error);
    }
    throw await this.authError(o, text, challenge?.params.error);
  }

  private async storageRefused(o: SendOptions, res: RegistryResponse): Promise<RegistryError> {
    const server = parseErrorBody(await readText(res.body).catch(() => ''))?.message;
    return new RegistryError(
      `${res.url.host} refused ${o.what} of ${o.registry}/${o.repository ?? ''} (HTTP 401${server ? `: ${server}` : ''}): `
        + `registry ${o.registry} sent us there (a redirect or upload location, often a signed URL), and that host did not accept the address`,
      { registry: o.registry, repository: o.repository, status: 401 },
    );
  }

  private async authError(o: SendOptions, text: string, challengeError?: string): Promise<RegistryError> {
    const creds = await this.auth.credentials(o.registry);
    const server = parseErrorBody(text)?.message ?? 'HTTP 401';
    const target = `${o.registry} (${o.repository ?? 'registry'})`;
    const info = { registry: o.registry, repository: o.repository, status: 401 };
    if (isAnonymous(creds)) {
      // Docker Hub and others answer a missing repository like a private one.
      return new RegistryError(
        `authentication required for ${target}: no credentials found for ${o.registry}, or the repository does not exist (${server})`,
        { ...info, code: 'UNAUTHORIZED' },
      );
    }
    if (challengeError === 'insufficient_scope') {
      const action = o.direction === 'push' ? 'push to' : 'pull from';
      return new RegistryError(`access denied: the credentials for ${o.registry} may not ${action} ${o.repository ?? 'this registry'} (${server})`, {
        ...info, code: 'DENIED',
      });
    }
    return new RegistryError(`authentication failed for ${target}: ${server}`, { ...info, code: 'UNAUTHORIZED' });
  }

  /** An error for an unexpected status, with the registry's own error code and message. */
  async statusError(o: SendOptions, res: RegistryResponse): Promise<RegistryError> {
    const text = o.method === 'HEAD' ? '' : await readText(res.body).catch(() => '');
    if (o.method === 'HEAD') await res.body.dump().catch(() => undefined);
    const server = parseErrorBody(text);
    const detail = server ? `: ${server.message}` : '';
    const info = { registry: o.registry, repository: o.repository, status: res.status, code: server?.code };
    const repo = `${o.registry}/${o.repository ?? ''}`;
    if (res.status === 404) {
      if (server?.code === 'NAME_UNKNOWN') return new RegistryError(`repository ${repo} not found${detail}`, info);
      return new RegistryError(`${o.what} not found in ${repo}${detail || ' (404)'}`, info);
    }
    if (res.status === 403) {
      const action = o.direction === 'push' ? 'push to' : 'pull from';
      return new RegistryError(`access denied: not allowed to ${action} ${repo}${detail || ' (403)'}`, info);
    }
    if (res.status === 429 && /pull rate limit|increase-rate-limit/i.test(server?.message ?? '')) {
      // Docker Hub's pull limit lasts hours: retrying in seconds only delays the failure
      return new RegistryError(`registry ${o.registry} refused ${o.what}${detail}: Docker Hub's pull limit; pull with credentials `
        + `for docker.io (an auths entry in DOCKER_CONFIG's config.json) or through a mirror (--registry-mirror)`, info);
    }
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      return new RegistryError(`registry ${o.registry} answered ${res.status} for ${o.what}${detail}`, {
        ...info, retryable: true, retryAfterMs: parseRetryAfter(res.headers['retry-after']),
      });
    }
    return new RegistryError(`registry ${o.registry} refused ${o.what}: HTTP ${res.status}${detail}`, info);
  }

  /**
   * send() under the retry policy of its direction; statuses outside `ok` become errors (and are
   * retried when transient). The returned body must be consumed or dumped by the caller.
   */
  async request(o: SendOptions, ok: number[]): Promise<RegistryResponse> {
    return this.retrying(o.direction, o.what, async () => {
      const res = await this.send(o);
      if (ok.includes(res.status)) return res;
      throw await this.statusError(o, res);
    });
  }

  /** Run a multi-request operation (an upload) under the retry policy, restarting it as a whole. */
  retrying<T>(direction: Direction, what: string, fn: () => Promise<T>): Promise<T> {
    return withRetries(this.policies[direction], what, this.log, fn);
  }

  async close(abort = false): Promise<void> {
    await this.transport.close(abort);
  }
}
