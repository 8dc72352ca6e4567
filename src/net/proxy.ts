// HTTP(S) proxies from the environment, with the rules Go programs follow (kaniko, crane, the
// docker CLI: golang.org/x/net/http/httpproxy), so a Jenkins agent behind a company's egress proxy
// reaches registries, S3 and the controller as kaniko did there:
// - HTTPS_PROXY (or https_proxy) for https URLs, HTTP_PROXY (or http_proxy) for http ones; a proxy
//   given without a scheme is http://;
// - NO_PROXY (or no_proxy), comma separated: "*" for every host; "example.com" for that host and
//   its subdomains, ".example.com" for the subdomains only; an IP address; a CIDR range; each
//   optionally with ":port";
// - localhost and loopback addresses are never proxied.
// The upper-case name wins when both are set (Go reads it first).
import * as net from 'node:net';
import { registerSecret, UserError } from '../log';

export interface ProxySettings {
  http?: URL;
  https?: URL;
  noProxy: NoProxyRule[];
}

type NoProxyRule =
  | { kind: 'all' }
  | { kind: 'domain'; name: string; subdomainsOnly: boolean; port?: string }
  | { kind: 'ip'; address: string; port?: string }
  | { kind: 'cidr'; list: net.BlockList };

function proxyUrl(value: string, name: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new UserError(`${name}: invalid proxy URL (expected http://[user:password@]host:port)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'socks5:') {
    throw new UserError(`${name}: unsupported proxy scheme "${u.protocol.slice(0, -1)}" (expected http, https or socks5)`);
  }
  if (u.password) registerSecret(decodeURIComponent(u.password));
  return u;
}

function parseNoProxy(value: string): NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  for (const raw of value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (raw === '*') {
      rules.push({ kind: 'all' });
      continue;
    }
    if (raw.includes('/')) {
      const [addr, bits] = raw.split('/');
      const family = net.isIP(addr);
      if (family) {
        const list = new net.BlockList();
        list.addSubnet(addr, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
        rules.push({ kind: 'cidr', list });
      }
      continue;
    }
    const { host, port } = splitHostPort(raw);
    if (net.isIP(host)) rules.push({ kind: 'ip', address: host, port });
    else {
      // "*.example.com" and ".example.com": the subdomains; "example.com": it and its subdomains
      rules.push({ kind: 'domain', name: host.replace(/^\*?\./, ''), subdomainsOnly: host.startsWith('.') || host.startsWith('*.'), port });
    }
  }
  return rules;
}

function splitHostPort(s: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  const m = /^([^:]+):(\d+)$/.exec(s);
  return m ? { host: m[1], port: m[2] } : { host: s };
}

/** The proxy settings of an environment, or undefined when it names no proxy. */
export function proxyFromEnv(env: NodeJS.ProcessEnv = process.env): ProxySettings | undefined {
  const https = env.HTTPS_PROXY || env.https_proxy;
  const http = env.HTTP_PROXY || env.http_proxy;
  if (!https && !http) return undefined;
  return {
    https: https ? proxyUrl(https, env.HTTPS_PROXY ? 'HTTPS_PROXY' : 'https_proxy') : undefined,
    http: http ? proxyUrl(http, env.HTTP_PROXY ? 'HTTP_PROXY' : 'http_proxy') : undefined,
    noProxy: parseNoProxy(env.NO_PROXY || env.no_proxy || ''),
  };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1';
  return false;
}

/**
 * "proxy http://host:port (HTTPS_PROXY)" when requests to `host` go through a proxy, for errors
 * (credentials left out); undefined when they go direct.
 */
export function proxyNote(host: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let settings: ProxySettings | undefined;
  try {
    settings = proxyFromEnv(env);
  } catch {
    return undefined;
  }
  if (!settings) return undefined;
  for (const scheme of ['https', 'http'] as const) {
    const p = proxyFor(settings, new URL(`${scheme}://${host}`));
    if (p) return `proxy ${p.protocol}//${p.host} (${scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY'})`;
  }
  return undefined;
}

/** The proxy for a request to `origin` (scheme://host[:port]), or undefined to go direct. */
export function proxyFor(settings: ProxySettings, origin: URL): URL | undefined {
  const proxy = origin.protocol === 'https:' ? settings.https : settings.http;
  if (!proxy) return undefined;
  const host = origin.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(host)) return undefined;
  const port = origin.port || (origin.protocol === 'https:' ? '443' : '80');
  for (const rule of settings.noProxy) {
    if (rule.kind === 'all') return undefined;
    if (rule.kind === 'cidr') {
      const family = net.isIP(host);
      if (family && rule.list.check(host, family === 6 ? 'ipv6' : 'ipv4')) return undefined;
      continue;
    }
    if (rule.port !== undefined && rule.port !== port) continue;
    if (rule.kind === 'ip') {
      if (rule.address === host) return undefined;
      continue;
    }
    if (host.endsWith(`.${rule.name}`) || (!rule.subdomainsOnly && host === rule.name)) return undefined;
  }
  return proxy;
}
