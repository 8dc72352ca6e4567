// The keychain Docker tools have: config files in order, per file credHelpers for the host, then
// credsStore, then the static "auths" entry; ECR hosts nobody configured get native ecr-login,
// since on ECS the task role is the only credential there is.
import { Logger, UserError, log as rootLog, registerSecret } from '../log';
import { configLocations, readDockerConfig, type AuthEntry, type ConfigLocation, type DockerConfig } from './config-file';
import { ECR_PUBLIC_HOST, isAccountId, parseEcrHost } from './ecr-host';
import { EcrLogin } from './ecr-login';
import { CredentialHelper } from './helper-protocol';
import { isAnonymous, type AuthConfig, type Keychain } from './keychain';
import { canonicalHost, findKey, helperServerUrl } from './registry-key';

/** The helper name handled in-process instead of by a docker-credential-* program. */
export const NATIVE_ECR_HELPER = 'ecr-login';
/** Set while drydock serves as docker-credential-drydock, so that it never calls itself. */
export const IN_HELPER_ENV = 'DRYDOCK_IN_CREDENTIAL_HELPER';

export interface ResolvedCredential {
  registry: string;
  auth: AuthConfig;
  /** Where the answer came from, e.g. `auths "127.0.0.1:5000" in /kaniko/.docker/config.json`. */
  source: string;
}

export interface DockerKeychainOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Files to read instead of the standard locations. */
  locations?: ConfigLocation[];
  ecr?: EcrLogin;
}

export function decodeAuthEntry(entry: AuthEntry, key: string, file: string): AuthConfig {
  const out: AuthConfig = {};
  if (entry.username) out.username = entry.username;
  if (entry.password) out.password = entry.password;
  // docker's config loader decodes "auth" over username/password: with both, "auth" wins
  if (entry.auth) {
    registerSecret(entry.auth);
    // Go's base64 decoder (docker's) skips \r and \n, so line-wrapped output of `base64` works there
    const encoded = entry.auth.replace(/[\r\n]/g, '');
    registerSecret(encoded);
    const plain = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0 || !/^[A-Za-z0-9+/=_-]+$/.test(encoded.trim())) {
      throw new UserError(`${file}: auths entry "${key}": "auth" is not base64 of "user:password"`);
    }
    out.username = plain.slice(0, colon);
    out.password = plain.slice(colon + 1);
  }
  if (entry.identitytoken) out.identityToken = entry.identitytoken;
  if (entry.registrytoken) out.registryToken = entry.registrytoken;
  registerSecret(out.password);
  registerSecret(out.identityToken);
  registerSecret(out.registryToken);
  return out;
}

/** A key that is a bare account id matches that account's ECR host in any region. */
function accountIdKey(map: Record<string, unknown> | undefined, host: string): string | undefined {
  const ecr = parseEcrHost(host);
  if (!map || !ecr?.registryId) return undefined;
  return Object.keys(map).find((k) => isAccountId(k) && k === ecr.registryId);
}

/** The key of a credHelpers or auths map that answers for a registry, as the lookup below finds it. */
export function registryKeyIn(map: Record<string, unknown> | undefined, registry: string): string | undefined {
  const host = canonicalHost(registry);
  return findKey(map, host) ?? accountIdKey(map, host);
}

export class DockerConfigKeychain implements Keychain {
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private readonly locations: ConfigLocation[];
  private readonly ecr: EcrLogin;
  private readonly loaded = new Map<string, DockerConfig | undefined>();

  constructor(opts: DockerKeychainOptions = {}) {
    this.env = opts.env ?? process.env;
    this.log = (opts.log ?? rootLog).child({ component: 'keychain' });
    this.locations = opts.locations ?? configLocations(this.env);
    this.ecr = opts.ecr ?? new EcrLogin({ env: this.env, log: opts.log });
  }

  async resolve(registry: string): Promise<AuthConfig> {
    return (await this.lookup(registry)).auth;
  }

  private config(loc: ConfigLocation): DockerConfig | undefined {
    if (!this.loaded.has(loc.path)) this.loaded.set(loc.path, readDockerConfig(loc.path, loc.from));
    return this.loaded.get(loc.path);
  }

  private async fromHelper(name: string, registry: string, origin: string): Promise<AuthConfig | undefined> {
    if (name === NATIVE_ECR_HELPER) {
      // docker-credential-ecr-login answers "credentials not found" for a host that is not ECR,
      // and kaniko's documented set-up ("credsStore": "ecr-login") relies on it: every other
      // registry is then pulled with its auths entry or anonymously, never sent an ECR token.
      if (!parseEcrHost(registry)) {
        this.log.debug('ecr-login has no credentials for a registry that is not ECR', { registry, named: origin });
        return undefined;
      }
      return this.ecr.get(canonicalHost(registry));
    }
    if (name === 'drydock' && this.env[IN_HELPER_ENV]) return undefined;
    return new CredentialHelper(name, this.env, origin).get(helperServerUrl(registry), registry);
  }

  /** The credential for a registry and where it came from. */
  async lookup(registry: string): Promise<ResolvedCredential> {
    const host = canonicalHost(registry);
    for (const loc of this.locations) {
      const cfg = this.config(loc);
      if (!cfg) continue;
      const helperKey = registryKeyIn(cfg.credHelpers, host);
      if (helperKey) {
        const name = cfg.credHelpers![helperKey];
        const source = `credHelpers "${helperKey}" → ${name} (${loc.path})`;
        const auth = await this.fromHelper(name, host, `credHelpers "${helperKey}" in ${loc.path}`);
        if (auth && !isAnonymous(auth)) return this.found(host, auth, source);
        this.log.debug('credential helper has nothing for registry', { registry: host, helper: name });
      }
      const authKey = registryKeyIn(cfg.auths, host);
      if (cfg.credsStore && !helperKey) {
        const auth = await this.fromHelper(cfg.credsStore, host, `credsStore in ${loc.path}`);
        if (auth && !isAnonymous(auth)) return this.found(host, auth, `credsStore ${cfg.credsStore} (${loc.path})`);
      }
      if (authKey) {
        const auth = decodeAuthEntry(cfg.auths![authKey], authKey, loc.path);
        if (!isAnonymous(auth)) return this.found(host, auth, `auths "${authKey}" in ${loc.path}`);
      }
    }
    const ecr = parseEcrHost(host);
    if (ecr && this.env.DRYDOCK_ECR_AUTO !== 'false') {
      try {
        return this.found(host, await this.ecr.get(host), 'native ecr-login (ECR host, no config entry)');
      } catch (e) {
        // ECR Public serves anonymous pulls; a private registry never does
        if (host !== ECR_PUBLIC_HOST) throw e;
        this.log.debug('ECR Public login failed, pulling anonymously', { error: (e as Error).message });
      }
    }
    return { registry: host, auth: {}, source: 'anonymous (no credentials configured)' };
  }

  private found(registry: string, auth: AuthConfig, source: string): ResolvedCredential {
    this.log.debug('credentials found', { registry, source });
    return { registry, auth, source };
  }
}
