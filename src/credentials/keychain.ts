// The one question the rest of the program asks about credentials: "what auth for this registry?"
// Registry code depends on this interface only; src/credentials implements it.

/** Credentials for one registry, in the shape of a config.json "auths" entry after decoding. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (config.json "identitytoken"); exchanged at the token endpoint. */
  identityToken?: string;
  /** A bearer token to send as is (config.json "registrytoken"). */
  registryToken?: string;
}

export interface Keychain {
  /**
   * Credentials for a registry host (e.g. "index.docker.io", "123.dkr.ecr.us-east-1.amazonaws.com",
   * "127.0.0.1:5000"). Resolves to `{}` (anonymous) when nothing is configured; rejects with a
   * UserError when something is configured but broken (malformed config, crashing helper).
   */
  resolve(registry: string): Promise<AuthConfig>;
}

export const anonymous: Keychain = { resolve: async () => ({}) };

/** A keychain with fixed credentials per registry host, for tests and `--creds`-style flags. */
export class StaticKeychain implements Keychain {
  constructor(private readonly entries: Record<string, AuthConfig>, private readonly fallback: Keychain = anonymous) {}
  async resolve(registry: string): Promise<AuthConfig> {
    return this.entries[registry] ?? this.fallback.resolve(registry);
  }
}

export function isAnonymous(a: AuthConfig): boolean {
  return !a.username && !a.password && !a.identityToken && !a.registryToken;
}
