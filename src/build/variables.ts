// ARG and ENV scoping with Docker's rules: global ARGs (before the first FROM) are visible in FROM
// lines only, until a stage re-declares them; a stage ARG takes its --build-arg value, else its
// default; ENV wins over ARG of the same name; proxy args and the platform args are predefined.
import type { Platform } from '../image/platform';
import { formatPlatform } from '../image/platform';

/** Usable through --build-arg without an ARG line, and kept out of history (Docker's list). */
export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** BuildKit's automatic platform ARGs: values exist, but a stage sees them only after `ARG NAME`. */
export function platformArgs(target: Platform, buildPlatform: Platform): Record<string, string> {
  return {
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    BUILDPLATFORM: formatPlatform(buildPlatform),
    BUILDOS: buildPlatform.os,
    BUILDARCH: buildPlatform.architecture,
    BUILDVARIANT: buildPlatform.variant ?? '',
  };
}

export class ArgScope {
  /** declared ARG name → value (undefined: declared without value and no --build-arg) */
  private readonly values = new Map<string, string | undefined>();

  constructor(
    private readonly buildArgs: Record<string, string>,
    private readonly automatic: Record<string, string>,
    private readonly globals: ArgScope | null,
  ) {}

  /** Declare `ARG name[=default]`; `value` is the default already expanded. */
  declare(name: string, value: string | undefined): void {
    if (name in this.buildArgs) this.values.set(name, this.buildArgs[name]);
    else if (value !== undefined) this.values.set(name, value);
    else if (this.globals?.has(name)) this.values.set(name, this.globals.get(name));
    else if (name in this.automatic) this.values.set(name, this.automatic[name]);
    else this.values.set(name, undefined);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string | undefined {
    if (this.values.has(name)) return this.values.get(name);
    if (PROXY_ARGS.includes(name)) return this.buildArgs[name];
    // the global scope (FROM lines) sees the automatic platform args undeclared (BuildKit)
    if (this.globals === null && name in this.automatic) return this.automatic[name];
    return undefined;
  }

  /** Declared args with a value, for RUN's environment and cache keys. */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [k, v] of this.values) if (v !== undefined) out.push([k, v]);
    for (const p of PROXY_ARGS) if (!this.values.has(p) && this.buildArgs[p] !== undefined) out.push([p, this.buildArgs[p]]);
    return out;
  }

  /** --build-arg names that no ARG consumed (Docker warns about them). */
  static unused(buildArgs: Record<string, string>, scopes: ArgScope[]): string[] {
    return Object.keys(buildArgs).filter((k) => !PROXY_ARGS.includes(k) && !scopes.some((s) => s.values.has(k)));
  }
}

/** "K=V" list → lookup; the last definition wins (as in a process environment). */
export function envLookup(env: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
    else m.set(e, '');
  }
  return m;
}

/**
 * ENV key=value: a key already set keeps its place (as Docker and BuildKit do: the config, and so
 * the image digest, match theirs); a new key goes last.
 */
export function setEnv(env: readonly string[] | undefined, key: string, value: string): string[] {
  const out = [...(env ?? [])];
  const at = out.findIndex((e) => e.split('=', 1)[0] === key);
  if (at < 0) out.push(`${key}=${value}`);
  else out[at] = `${key}=${value}`;
  return out;
}
