// Registry failures turned into errors a person can act on: which registry, which repository,
// what the server said (its error code), and which flag fixes a TLS or reachability problem.
import { UserError, redact } from '../log';
import { proxyNote } from '../net/proxy';
import { registryApiHost } from '../image/reference';

export interface RegistryErrorInfo {
  registry: string;
  repository?: string;
  status?: number;
  /** Distribution error code (MANIFEST_UNKNOWN, NAME_UNKNOWN, DENIED, …) when the server sent one. */
  code?: string;
  /** Worth another attempt (408/429/5xx, connection reset, timeout). */
  retryable?: boolean;
  /** Server-requested delay (Retry-After) in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class RegistryError extends UserError {
  readonly registry: string;
  readonly repository?: string;
  readonly status?: number;
  readonly code?: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(message: string, info: RegistryErrorInfo) {
    super(message, info.cause !== undefined ? { cause: info.cause } : {});
    this.name = 'RegistryError';
    this.registry = info.registry;
    this.repository = info.repository;
    this.status = info.status;
    this.code = info.code;
    this.retryable = info.retryable ?? false;
    this.retryAfterMs = info.retryAfterMs;
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof RegistryError && err.retryable;
}

export interface ServerError {
  code?: string;
  message: string;
}

/** The registry's own explanation from an error body ({"errors":[{code,message,detail}]} or a token server's {"details"}). */
export function parseErrorBody(body: string): ServerError | undefined {
  const text = body.trim();
  if (!text) return undefined;
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    if (Array.isArray(doc.errors) && doc.errors.length) {
      const parts = (doc.errors as Array<Record<string, unknown>>).map((e) => {
        const detail = e.detail === undefined || e.detail === null ? '' : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail);
        return [e.code, e.message, detail].filter((x) => typeof x === 'string' && x).join(': ');
      });
      const first = doc.errors[0] as Record<string, unknown>;
      return { code: typeof first.code === 'string' ? first.code : undefined, message: redact(parts.join('; ')) };
    }
    for (const k of ['details', 'detail', 'message', 'error_description', 'error']) {
      if (typeof doc[k] === 'string' && doc[k]) return { message: redact(doc[k] as string) };
    }
  } catch {
    // not JSON: plain text or HTML
  }
  const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain ? { message: redact(plain.slice(0, 300)) } : undefined;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** Every error code in an error, its causes and aggregated errors (Happy Eyeballs gives AggregateError). */
function codesOf(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 4) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof e.code === 'string' ? [e.code] : [];
  const nested = [
    ...codesOf(e.cause, depth + 1),
    ...(Array.isArray(e.errors) ? e.errors.flatMap((x) => codesOf(x, depth + 1)) : []),
  ];
  return [...own, ...nested];
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.message) return err.message;
    const agg = (err as { errors?: unknown }).errors;
    if (Array.isArray(agg) && agg[0] instanceof Error) return agg[0].message;
  }
  return String(err);
}

export function isTlsError(err: unknown): boolean {
  const codes = codesOf(err);
  return codes.some((c) => TLS_CODES.has(c) || c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_') || c === 'EPROTO');
}

/**
 * A failed connection (no HTTP answer) as a RegistryError that says what to do about it.
 * `elsewhere`: the host actually contacted when the registry sent us to another one (blob storage
 * behind a redirect or an upload Location); the message and the flags it suggests name that host.
 */
export function networkError(err: unknown, registry: string, repository?: string, elsewhere?: string): RegistryError {
  if (err instanceof RegistryError) return err;
  const codes = codesOf(err);
  const base = { registry, repository, cause: err };
  const has = (c: string) => codes.includes(c);
  const host = elsewhere ?? registry;
  const who = elsewhere ? `${elsewhere} (where registry ${registry} sent us)` : `registry ${registry}`;
  const proxy = proxyNote(registryApiHost(host));
  if (proxy) {
    // through a proxy, a refused or unresolved connection is the proxy's; the registry's own
    // failures come back as the proxy's answer to CONNECT
    const answer = /Proxy response \((\d+)\)/.exec(messageOf(err))?.[1];
    if (answer === '407') return new RegistryError(`${proxy} refused its credentials (407 Proxy Authentication Required): check the user and password in the variable`, base);
    if (answer) return new RegistryError(`${proxy} could not open a connection to ${who} (it answered HTTP ${answer})`, { ...base, retryable: answer === '502' || answer === '503' || answer === '504' });
    if (has('ECONNREFUSED') || has('ENOTFOUND') || has('EHOSTUNREACH') || has('ENETUNREACH')) {
      return new RegistryError(`cannot reach ${who}: cannot connect to the ${proxy} (${codes.find((c) => /^E[A-Z]+$/.test(c))})`, base);
    }
  }
  if (has('ECONNREFUSED')) return new RegistryError(`cannot reach ${who}: connection refused`, base);
  if (has('ENOTFOUND')) return new RegistryError(`cannot reach ${who}: host not found (DNS lookup failed)`, base);
  if (has('EHOSTUNREACH') || has('ENETUNREACH')) return new RegistryError(`cannot reach ${who}: no route to host`, base);
  if (codes.some((c) => c === 'ERR_SSL_WRONG_VERSION_NUMBER' || c === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')) {
    return new RegistryError(
      `cannot talk HTTPS to ${who}: it answers plain HTTP; allow that with --insecure-registry ${host} (or --insecure / --insecure-pull)`,
      base,
    );
  }
  if (isTlsError(err)) {
    return new RegistryError(
      `TLS error talking to ${who}: ${messageOf(err)}; if it uses a private CA pass --registry-certificate ${host}=<ca.pem>` +
        ` or add the CA to this host's store (update-ca-certificates, or a file in SSL_CERT_DIR)` +
        ` (or, insecurely, --skip-tls-verify-registry ${host})`,
      base,
    );
  }
  if (codes.some((c) => RETRYABLE_CODES.has(c))) {
    const what = codes.find((c) => RETRYABLE_CODES.has(c));
    return new RegistryError(`connection to ${who} failed (${what}): ${messageOf(err)}`, { ...base, retryable: true });
  }
  return new RegistryError(`request to ${who} failed: ${messageOf(err)}`, base);
}

/** Retry-After as milliseconds (delta-seconds or HTTP date). */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
