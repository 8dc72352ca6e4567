// The dispatchers every HTTP client here uses (registries, token servers, S3/SSM/ECR, ADD URLs,
// the Jenkins controller): TLS that trusts the host's store as well as Node's roots (trust.ts),
// and, when the environment names a proxy, requests through it by Go's rules (proxy.ts).
import type * as Undici from 'undici';
import { proxyFor, proxyFromEnv, type ProxySettings } from './proxy';
import { trustingConnector, trustingSecureContext, type ConnectOptions } from './trust';
import { undici } from './undici';

export interface AgentOptions {
  /** time to wait for response headers / between body chunks, ms */
  headersTimeout?: number;
  bodyTimeout?: number;
}

/** An Agent for `connect`'s TLS settings, proxied as the environment says. */
export function newAgent(connect: ConnectOptions = {}, opts: AgentOptions = {}, env: NodeJS.ProcessEnv = process.env): Undici.Dispatcher {
  const direct = new (undici().Agent)({ ...opts, connect: trustingConnector(connect) });
  const proxies = proxyFromEnv(env);
  return proxies ? new ProxyRouter(direct, proxies, connect, opts) : direct;
}

const DispatcherBase = () => require('undici/lib/dispatcher/dispatcher') as typeof Undici.Dispatcher;

/**
 * Sends each request direct or through the proxy its origin needs. One ProxyAgent per proxy,
 * made on first use; TLS to the origin (through the tunnel) trusts what direct connections do.
 */
class ProxyRouter extends DispatcherBase() {
  private readonly viaProxy = new Map<string, Undici.Dispatcher>();

  constructor(
    private readonly direct: Undici.Dispatcher,
    private readonly settings: ProxySettings,
    private readonly tls: ConnectOptions,
    private readonly opts: AgentOptions,
  ) {
    super();
  }

  private route(origin: string | URL | undefined): Undici.Dispatcher {
    const proxy = origin === undefined ? undefined : proxyFor(this.settings, new URL(origin));
    if (!proxy) return this.direct;
    let agent = this.viaProxy.get(proxy.href);
    if (!agent) {
      const ProxyAgent = require('undici/lib/dispatcher/proxy-agent') as typeof Undici.ProxyAgent;
      const { extraCa, cert, key, ...tlsOptions } = this.tls;
      const requestTls = { ...tlsOptions, secureContext: trustingSecureContext({ extraCa, cert, key }) };
      // an https:// proxy is itself reached over TLS that trusts the host's store
      const proxyTls = proxy.protocol === 'https:' ? { secureContext: trustingSecureContext() } : undefined;
      agent = new ProxyAgent({ uri: proxy.href, ...this.opts, requestTls, proxyTls } as Undici.ProxyAgent.Options);
      this.viaProxy.set(proxy.href, agent);
    }
    return agent;
  }

  override dispatch(options: Undici.Dispatcher.DispatchOptions, handler: Undici.Dispatcher.DispatchHandler): boolean {
    return this.route(options.origin).dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.direct, ...this.viaProxy.values()].map((d) => d.close())).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : a ?? null;
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all([this.direct, ...this.viaProxy.values()].map((d) => d.destroy(err))).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }
}
