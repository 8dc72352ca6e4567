// Docker's config.json (and podman's auth.json, same shape): where the files are, and parsing
// them with errors that point at the file, line and column.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../log';

export interface AuthEntry {
  /** base64("user:password") */
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [other: string]: unknown;
}

export interface ConfigLocation {
  path: string;
  /** Why this file is read, for messages: "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", ... */
  from: string;
}

/** The directory Docker tools write config.json to: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

/**
 * Files consulted, in order: $DOCKER_CONFIG/config.json, ~/.docker/config.json, $REGISTRY_AUTH_FILE,
 * then podman's auth.json ($XDG_RUNTIME_DIR/containers, then $XDG_CONFIG_HOME/containers).
 * The first file with an entry for a registry answers for it.
 */
export function configLocations(env: NodeJS.ProcessEnv): ConfigLocation[] {
  const home = env.HOME || os.homedir();
  const out: ConfigLocation[] = [];
  const add = (p: string | undefined, from: string) => {
    if (p && !out.some((l) => path.resolve(l.path) === path.resolve(p))) out.push({ path: p, from });
  };
  if (env.DOCKER_CONFIG) add(path.join(env.DOCKER_CONFIG, 'config.json'), 'DOCKER_CONFIG');
  add(path.join(home, '.docker', 'config.json'), '~/.docker');
  add(env.REGISTRY_AUTH_FILE, 'REGISTRY_AUTH_FILE');
  if (env.XDG_RUNTIME_DIR) add(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), 'podman auth.json');
  add(path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'auth.json'), 'podman auth.json');
  return out;
}

/** Line and column (1-based) of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

function jsonErrorOffset(err: Error, text: string): number {
  const m = /position (\d+)/.exec(err.message);
  if (m) return Number(m[1]);
  return text.length; // "Unexpected end of JSON input"
}

/** Parse and check the shape of a config file's text. `file` names it in errors. */
export function parseDockerConfig(text: string, file: string): DockerConfig {
  let data: unknown;
  try {
    data = text.trim() === '' ? {} : JSON.parse(text);
  } catch (e) {
    const { line, column } = lineAndColumn(text, jsonErrorOffset(e as Error, text));
    // V8's message quotes the surrounding text, which may be a password: keep only its kind
    const kind = (e as Error).message.replace(/,? ".*$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    throw new UserError(`${file}:${line}:${column}: invalid JSON (${kind}): expected a Docker config.json object`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UserError(`${file}: expected a JSON object at the top level (a Docker config.json)`);
  }
  const cfg = data as DockerConfig;
  const where = (key: string) => {
    const at = text.indexOf(`"${key}"`);
    if (at < 0) return file;
    const { line, column } = lineAndColumn(text, at);
    return `${file}:${line}:${column}`;
  };
  if (cfg.auths !== undefined) {
    if (typeof cfg.auths !== 'object' || cfg.auths === null || Array.isArray(cfg.auths)) throw new UserError(`${where('auths')}: "auths" must be an object of registry → credentials`);
    for (const [k, v] of Object.entries(cfg.auths)) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError(`${where(k)}: auths entry "${k}" must be an object`);
      for (const f of ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const) {
        if (v[f] !== undefined && typeof v[f] !== 'string') throw new UserError(`${where(k)}: auths entry "${k}": "${f}" must be a string`);
      }
    }
  }
  if (cfg.credHelpers !== undefined) {
    if (typeof cfg.credHelpers !== 'object' || cfg.credHelpers === null || Array.isArray(cfg.credHelpers)) throw new UserError(`${where('credHelpers')}: "credHelpers" must be an object of registry → helper name`);
    for (const [k, v] of Object.entries(cfg.credHelpers)) {
      if (typeof v !== 'string' || !v) throw new UserError(`${where(k)}: credHelpers entry "${k}" must be a helper name (e.g. "ecr-login")`);
    }
  }
  if (cfg.credsStore !== undefined && typeof cfg.credsStore !== 'string') throw new UserError(`${where('credsStore')}: "credsStore" must be a helper name`);
  return cfg;
}

/**
 * Read a config file; undefined when it does not exist. `from` says where its path came from
 * (a ConfigLocation's): a DOCKER_CONFIG that names a file is then reported as such.
 */
export function readDockerConfig(file: string, from?: string): DockerConfig | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // a file where a directory of the path should be: the docker CLI fails too, and silently
    // reading no credentials would only surface later as an anonymous pull that is refused
    if (code === 'ENOTDIR') throw notADirectory(file, from);
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseDockerConfig(text, file);
}

function notADirectory(file: string, from: string | undefined): UserError {
  let notDir = path.dirname(file);
  for (let d = notDir; d !== path.dirname(d); d = path.dirname(d)) {
    try {
      if (!fs.statSync(d).isDirectory()) notDir = d;
    } catch {
      // missing further up: keep looking for the component that is a file
    }
  }
  if (from === 'DOCKER_CONFIG') {
    return new UserError(`DOCKER_CONFIG=${path.dirname(file)} cannot be used: ${notDir} is not a directory. DOCKER_CONFIG names the directory that holds config.json (e.g. DOCKER_CONFIG=/kaniko/.docker), not the file`);
  }
  return new UserError(`cannot read ${file}: ${notDir} is not a directory`);
}
