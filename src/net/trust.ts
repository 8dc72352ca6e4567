// Which certificate authorities our TLS connections trust. Node trusts only the Mozilla roots built
// into it; Go programs (kaniko, crane, the docker CLI) and git trust the host's store, where
// update-ca-certificates puts a company's CA, or SSL_CERT_FILE / SSL_CERT_DIR (kaniko's image sets
// SSL_CERT_DIR=/kaniko/ssl/certs for users to drop a CA into). A private registry behind such a CA
// must work here as it does with kaniko, so connections trust Node's roots and the host's store.
//
// Cost: only the host's certificates that Node's roots lack are parsed and added, once per TLS
// set-up (~4 ms; a context built from a whole `ca` list of ~300 certificates takes ~40 ms), and
// only when a connection actually uses TLS: a loopback registry over plain HTTP pays nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import type * as Undici from 'undici';

/** Where Go looks for the host's bundle on Linux, in order (crypto/x509 root_linux.go). */
const BUNDLE_FILES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL 6
  '/etc/ssl/ca-bundle.pem', // OpenSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7
  '/etc/ssl/cert.pem', // Alpine
];

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

const tlsModule = () => require('node:tls') as typeof tls;
const normalized = (pem: string) => pem.replace(/\s+/g, '');

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return '';
  }
}

function linkTarget(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

/**
 * PEM certificates of the host's store that Node's built-in roots lack: SSL_CERT_FILE or the first
 * bundle found, every file of SSL_CERT_DIR (colon separated), and AWS_CA_BUNDLE. Go also reads /etc/ssl/certs
 * when no SSL_CERT_DIR is set; the bundle found first holds the same certificates there (that is
 * what update-ca-certificates writes), so that directory is not read twice.
 */
export function hostOnlyCertificates(env: NodeJS.ProcessEnv = process.env): string[] {
  const texts: string[] = [];
  const read = new Set<string>();
  const take = (file: string): boolean => {
    const t = readOrEmpty(file);
    if (t) {
      texts.push(t);
      read.add(path.resolve(file));
    }
    return t !== '';
  };
  if (env.SSL_CERT_FILE) take(env.SSL_CERT_FILE);
  else BUNDLE_FILES.some(take);
  // the AWS SDK's own CA setting (an S3-compatible endpoint behind a private CA, say)
  if (env.AWS_CA_BUNDLE) take(env.AWS_CA_BUNDLE);
  for (const dir of (env.SSL_CERT_DIR ?? '').split(':').filter(Boolean)) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const file = path.join(dir, n);
      // as Go does: a link to another entry of the same directory (c_rehash's hash names) is that entry again
      const target = linkTarget(file);
      if (target !== undefined && path.dirname(path.resolve(dir, target)) === path.resolve(dir)) continue;
      if (!read.has(path.resolve(file))) take(file);
    }
  }
  const known = new Set(tlsModule().rootCertificates.map(normalized));
  const out: string[] = [];
  for (const t of texts) {
    for (const pem of t.match(PEM_CERT) ?? []) {
      const key = normalized(pem);
      if (known.has(key)) continue;
      known.add(key);
      out.push(pem);
    }
  }
  return out;
}

/** hostOnlyCertificates() of the environment it was read for */
let hostOnly: { env: string; pems: string[] } | undefined;

export interface TrustOptions {
  /** CA certificates trusted besides the roots (--registry-certificate) */
  extraCa?: Array<string | Buffer>;
  /** client certificate and key for mutual TLS */
  cert?: Buffer;
  key?: Buffer;
}

/** The context of connections that add no CA or client certificate: one for all of them. */
let shared: { env: string; context: tls.SecureContext } | undefined;

/** A TLS context trusting Node's roots, the host's store and `opts.extraCa`. */
export function trustingSecureContext(opts: TrustOptions = {}): tls.SecureContext {
  const env = ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'AWS_CA_BUNDLE'].map((k) => process.env[k] ?? '').join('\0');
  const plain = !opts.extraCa?.length && !opts.cert && !opts.key;
  if (plain && shared?.env === env) return shared.context;
  if (hostOnly?.env !== env) hostOnly = { env, pems: hostOnlyCertificates() };
  // without `ca`, the context starts from Node's shared root store; adding to it copies the
  // already parsed roots into a store of the context's own, then only the additions are parsed
  const sc = tlsModule().createSecureContext({ cert: opts.cert, key: opts.key });
  const native = (sc as unknown as { context: { addCACert(pem: string | Buffer): void } }).context;
  for (const pem of [...hostOnly.pems, ...(opts.extraCa ?? [])]) native.addCACert(pem);
  if (plain) shared = { env, context: sc };
  return sc;
}

export interface ConnectOptions extends TrustOptions {
  /** false: --skip-tls-verify */
  rejectUnauthorized?: boolean;
  /** connect timeout, ms */
  timeout?: number;
}

/**
 * An undici `connect` function whose TLS connections trust what trustingSecureContext() trusts;
 * the context is made when the first TLS connection needs it.
 */
export function trustingConnector(options: ConnectOptions = {}): Undici.buildConnector.connector {
  const { extraCa, cert, key, ...base } = options;
  const buildConnector = require('undici/lib/core/connect') as typeof Undici.buildConnector;
  const plain = buildConnector(base as Undici.buildConnector.BuildOptions);
  let secure: Undici.buildConnector.connector | undefined;
  return (opts, callback) => {
    if (opts.protocol !== 'https:') return plain(opts, callback);
    secure ??= buildConnector({ ...base, secureContext: trustingSecureContext({ extraCa, cert, key }) } as Undici.buildConnector.BuildOptions);
    return secure(opts, callback);
  };
}
