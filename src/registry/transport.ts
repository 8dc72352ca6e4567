// How to reach each registry host: scheme(s), TLS settings (CA, client certificate, verification)
// and the undici dispatcher that carries them, plus kaniko's mirror / registry-map rewriting.
//
// Plain HTTP policy (the choice, following go-containerregistry): a host may use plain HTTP when
// it is listed as insecure (--insecure for pushes, --insecure-pull for pulls, --insecure-registry
// per host) or is a loopback host (localhost, 127.0.0.0/8, ::1). Such hosts are asked over HTTPS
// and HTTP at once (RegistryHttp.ping) and HTTPS wins whenever its connection works: HTTP is used
// only when HTTPS itself fails; the outcome is remembered per host. Every other host is HTTPS only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dispatcher } from 'undici';
import { newAgent } from '../net/agents';
import type { ConnectOptions } from '../net/trust';
import { UserError } from '../log';
import { normalizeRegistryHost, parseReference, Reference, DOCKER_HUB } from '../image/reference';

export type Direction = 'pull' | 'push';

export interface TransportOptions {
  /** --insecure: destinations (pushes) may use plain HTTP. */
  insecure?: boolean;
  /** --insecure-pull: pulls may use plain HTTP. */
  insecurePull?: boolean;
  /** --insecure-registry (repeatable): hosts that may use plain HTTP in both directions. */
  insecureRegistries?: string[];
  /** --skip-tls-verify: do not verify certificates of destinations (pushes). */
  skipTlsVerify?: boolean;
  /** --skip-tls-verify-pull */
  skipTlsVerifyPull?: boolean;
  /** --skip-tls-verify-registry (repeatable) */
  skipTlsVerifyRegistries?: string[];
  /** --registry-certificate host=path: extra CA (PEM file, or a directory of *.crt/*.pem) for a host. */
  registryCertificates?: Record<string, string>;
  /** --registry-client-cert host=cert,key: client certificate for mutual TLS. */
  registryClientCerts?: Record<string, string>;
  /** --registry-mirror (repeatable): pull-through caches for docker.io, "host[/path-prefix]". */
  mirrors?: string[];
  /** --registry-map from=to (repeatable): pull `from` images via these "host[/path-prefix]" entries. */
  registryMap?: Record<string, string[]>;
  /** --skip-default-registry-fallback: when mirrors/maps fail, do not try the original registry. */
  skipDefaultRegistryFallback?: boolean;
  userAgent?: string;
  /** Time to wait for response headers / between body chunks (undici defaults are 300 s). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  connectTimeoutMs?: number;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** host[:port] without the port (IPv6 brackets kept). */
export function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const i = host.lastIndexOf(':');
  return i >= 0 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(hostWithoutPort(host));
}

function hostSet(list: string[] | undefined): Set<string> {
  return new Set((list ?? []).map(normalizeRegistryHost));
}

function hostMap<T>(m: Record<string, T> | undefined): Map<string, T> {
  return new Map(Object.entries(m ?? {}).map(([k, v]) => [normalizeRegistryHost(k), v]));
}

function readCaFiles(host: string, p: string): Buffer[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new UserError(`--registry-certificate ${host}=${p}: cannot read ${p}: ${(e as Error).message}`);
  }
  const files = st.isDirectory()
    ? fs.readdirSync(p).filter((f) => /\.(crt|pem)$/.test(f)).sort().map((f) => path.join(p, f))
    : [p];
  if (files.length === 0) throw new UserError(`--registry-certificate ${host}=${p}: the directory holds no *.crt or *.pem file`);
  return files.map((f) => {
    const pem = fs.readFileSync(f);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UserError(`--registry-certificate ${host}=${p}: ${f} is not a PEM certificate`);
    return pem;
  });
}

export interface HostEndpoint {
  /** Schemes to try, in order. */
  schemes: Array<'https' | 'http'>;
  dispatcher: Dispatcher;
}

/** Per-host connection settings and the dispatchers that implement them (one per distinct TLS setup). */
export class Transport {
  private readonly insecureHosts: Set<string>;
  private readonly skipVerifyHosts: Set<string>;
  private readonly caFiles: Map<string, string>;
  private readonly clientCerts: Map<string, string>;
  private readonly dispatchers = new Map<string, Dispatcher>();
  /** Scheme that worked for a host (after a fallback to http, stay there). */
  private readonly knownScheme = new Map<string, 'https' | 'http'>();
  readonly userAgent: string;

  constructor(readonly options: TransportOptions = {}) {
    this.insecureHosts = hostSet(options.insecureRegistries);
    this.skipVerifyHosts = hostSet(options.skipTlsVerifyRegistries);
    this.caFiles = hostMap(options.registryCertificates);
    this.clientCerts = hostMap(options.registryClientCerts);
    this.userAgent = options.userAgent ?? 'drydock';
  }

  mayUseHttp(host: string, direction: Direction): boolean {
    const h = normalizeRegistryHost(host);
    if (this.insecureHosts.has(h) || isLoopbackHost(h)) return true;
    return direction === 'push' ? !!this.options.insecure : !!this.options.insecurePull;
  }

  skipsVerify(host: string, direction: Direction): boolean {
    const h = normalizeRegistryHost(host);
    if (this.skipVerifyHosts.has(h)) return true;
    return direction === 'push' ? !!this.options.skipTlsVerify : !!this.options.skipTlsVerifyPull;
  }

  endpoint(host: string, direction: Direction): HostEndpoint {
    const known = this.knownScheme.get(host);
    const schemes: Array<'https' | 'http'> = known ? [known] : this.mayUseHttp(host, direction) ? ['https', 'http'] : ['https'];
    return { schemes, dispatcher: this.dispatcherFor(host, direction) };
  }

  rememberScheme(host: string, scheme: 'https' | 'http'): void {
    this.knownScheme.set(host, scheme);
  }

  /** The dispatcher for a host: TLS options are per host, connections are pooled per origin inside it. */
  dispatcherFor(host: string, direction: Direction): Dispatcher {
    const h = normalizeRegistryHost(host);
    return this.dispatcherWith(this.skipsVerify(h, direction), [h], h);
  }

  /**
   * The dispatcher for a host that `registry` sent us to (a blob redirect, an upload Location on
   * blob storage or a CDN). go-containerregistry (so kaniko) follows those with the registry's own
   * transport, so the registry's TLS choices hold there too (verification skipped, its extra CA),
   * besides the storage host's own; only a client certificate stays with the host it was given for.
   */
  redirectDispatcherFor(target: string, registry: string, direction: Direction): Dispatcher {
    const t = normalizeRegistryHost(target);
    const r = normalizeRegistryHost(registry);
    return this.dispatcherWith(this.skipsVerify(t, direction) || this.skipsVerify(r, direction), [r, t], t);
  }

  /** One dispatcher per distinct TLS setup: verification, the hosts whose extra CAs are trusted, a client certificate. */
  private dispatcherWith(skip: boolean, caHosts: string[], clientHost: string): Dispatcher {
    const cas = [...new Set(caHosts)].flatMap((h) => {
      const p = this.caFiles.get(h);
      return p ? [[h, p] as const] : [];
    });
    const client = this.clientCerts.get(clientHost);
    const key = JSON.stringify([skip, cas.map(([, p]) => p), client ?? null]);
    let d = this.dispatchers.get(key);
    if (d) return d;
    const connect: ConnectOptions = { rejectUnauthorized: !skip };
    if (this.options.connectTimeoutMs) connect.timeout = this.options.connectTimeoutMs;
    // A private CA is trusted besides the roots (Node's and the host's store), not instead of
    // them (a mirror may redirect to a CDN)
    if (cas.length) connect.extraCa = cas.flatMap(([h, p]) => readCaFiles(h, p));
    if (client) {
      const h = clientHost;
      const [certPath, keyPath] = client.split(',').map((s) => s.trim());
      if (!certPath || !keyPath) throw new UserError(`--registry-client-cert ${h}=${client}: expected host=/path/cert.pem,/path/key.pem`);
      try {
        connect.cert = fs.readFileSync(certPath);
        connect.key = fs.readFileSync(keyPath);
      } catch (e) {
        throw new UserError(`--registry-client-cert ${h}: cannot read ${(e as Error).message}`);
      }
    }
    d = newAgent(connect, { headersTimeout: this.options.headersTimeoutMs, bodyTimeout: this.options.bodyTimeoutMs });
    this.dispatchers.set(key, d);
    return d;
  }

  /**
   * Where to pull `ref` from, in order: registry-map entries for its registry (mirrors count as
   * map entries for docker.io), then the original unless --skip-default-registry-fallback.
   */
  pullCandidates(ref: Reference): Reference[] {
    const maps = hostMap(this.options.registryMap);
    const entries = [...(maps.get(ref.registry) ?? [])];
    if (ref.registry === DOCKER_HUB) entries.push(...(this.options.mirrors ?? []));
    const out: Reference[] = [];
    for (const entry of entries) {
      // kaniko: "host/prefix" → host + prefix prepended to the repository path
      const trimmed = entry.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
      const slash = trimmed.indexOf('/');
      const host = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
      const prefix = slash >= 0 ? trimmed.slice(slash + 1) + '/' : '';
      if (!host) throw new UserError(`invalid registry mirror/map entry "${entry}": expected host[:port][/path-prefix]`);
      // validates the path; the host is taken as a host even without a dot ("mirror:5000", "mirror")
      const checked = parseReference(`localhost/${prefix}${ref.repository}`);
      out.push(new Reference(normalizeRegistryHost(host), checked.repository, ref.tag, ref.digest));
    }
    if (out.length === 0 || !this.options.skipDefaultRegistryFallback) out.push(ref);
    return out;
  }

  async close(abort = false): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(all.map((d) => (abort ? d.destroy() : d.close()).catch(() => undefined)));
  }
}
