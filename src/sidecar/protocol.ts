// The builder sidecar's wire protocol: one WebSocket per build, on a unix socket shared by the
// containers of a task (the agent's and the builder's; the Buildkite set-up in the seeds does the
// same with socat and a shell). The agent container then needs no root: only the builder runs as
// root, in chroot isolation, with the task's workspace volume mounted at the same path in both.
//
//   client → server   one text frame: BuildRequest (JSON); its args already carry the client's
//                     build-arg values, secrets and SSH socket (resolveClientArgs), so nothing of
//                     the builder's environment answers for the client's
//   server → client   binary frames: one byte (1 stdout, 2 stderr), then the executor's bytes
//                     a last text frame: BuildEnd (JSON); the server then closes
//   client closes     before BuildEnd: the build is stopped (SIGTERM: the executor kills its
//                     RUN step and removes its work dir), as a Jenkins abort stops a local build
// GET /v1/health answers 200 "ok" (the ECS health check of the builder container).
import * as path from 'node:path';
import { OUTPUT_FLAGS } from '../build/output-files';

export const BUILD_PATH = '/v1/build';
export const HEALTH_PATH = '/v1/health';
export const STDOUT = 1;
export const STDERR = 2;

export interface BuildRequest {
  /** the executor's arguments, as given to `executor` in the agent container */
  args: string[];
  /** the client's working directory: relative paths in args resolve there (a shared volume) */
  cwd: string;
  /** the only environment that crosses: SOURCE_DATE_EPOCH and secrets given by env (resolveClientArgs) */
  env: Record<string, string>;
  // the client's user is never taken from the request: the server asks the kernel (peer.ts)
}

/** Flags whose value is a file or directory the build writes for the caller. */
export { OUTPUT_FLAGS } from '../build/output-files';

/** The paths the build writes for the caller, as given in its args (relative to its cwd). */
export function outputPaths(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    for (const flag of OUTPUT_FLAGS) {
      const v = flagValue(args, i, flag);
      if (v) out.push(v.value);
    }
  }
  return out;
}

export interface BuildEnd {
  /** the executor's exit code (128 + n when a signal ended it) */
  exit: number;
  /** why it ended when the server, not the executor, says so */
  error?: string;
}

/** The environment a build reads besides its args (for --reproducible). */
export const FORWARDED_ENV = ['SOURCE_DATE_EPOCH'];

/**
 * A secret the client gives from its environment crosses as request environment under such a
 * name (never a file on a shared volume), and its `--secret` names that variable.
 */
export const SECRET_ENV_PREFIX = 'DRYDOCK_SIDECAR_SECRET_';

const isForwardedEnv = (name: string) => FORWARDED_ENV.includes(name) || /^DRYDOCK_SIDECAR_SECRET_\d+$/.test(name);

/** The value of `FLAG VALUE` or `FLAG=VALUE` at args[i], and how many args it takes. */
export function flagValue(args: string[], i: number, flag: string): { value: string; width: number } | undefined {
  if (args[i] === flag && args[i + 1] !== undefined) return { value: args[i + 1], width: 2 };
  if (args[i].startsWith(`${flag}=`)) return { value: args[i].slice(flag.length + 1), width: 1 };
  return undefined;
}

/**
 * --secret's keys (BuildKit's syntax); `env` is the variable it reads when it reads one, by the
 * executor's own rule (cli/build.ts): a non-empty src= (or source=) is a file, else env= when not
 * empty, else the variable named by id= (so `src=` and `env=` left empty read the variable id).
 */
function secretKeys(value: string): { keys: Record<string, string>; env?: string } {
  const keys: Record<string, string> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) keys[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const file = keys.src ?? keys.source;
  return { keys, env: file ? undefined : keys.env || keys.id };
}

/**
 * The client's side: the args made independent of the builder's environment, which must never
 * answer for the client's. `--build-arg NAME` gets the client's value (or is dropped when unset,
 * Docker's rule); a `--secret` read from an environment variable sends its value as request
 * environment (SECRET_ENV_PREFIX); `--ssh ID` names the client's SSH_AUTH_SOCK (which must be on
 * a volume the builder shares) or is dropped. SOURCE_DATE_EPOCH crosses as it is.
 */
export function resolveClientArgs(args: string[], env: NodeJS.ProcessEnv): { args: string[]; env: Record<string, string> } {
  const out: string[] = [];
  const sent: Record<string, string> = {};
  for (const name of FORWARDED_ENV) if (env[name] !== undefined) sent[name] = env[name] as string;
  let secrets = 0;
  for (let i = 0; i < args.length; i++) {
    const buildArg = flagValue(args, i, '--build-arg');
    const secret = flagValue(args, i, '--secret');
    const ssh = flagValue(args, i, '--ssh');
    if (buildArg && !buildArg.value.includes('=')) {
      if (env[buildArg.value] !== undefined) out.push('--build-arg', `${buildArg.value}=${env[buildArg.value]}`);
      i += buildArg.width - 1;
    } else if (secret && secretKeys(secret.value).env !== undefined) {
      const { keys, env: from } = secretKeys(secret.value);
      const name = `${SECRET_ENV_PREFIX}${++secrets}`;
      if (env[from as string] !== undefined) sent[name] = env[from as string] as string;
      out.push('--secret', `id=${keys.id ?? from},env=${name}`);
      i += secret.width - 1;
    } else if (ssh && !ssh.value.includes('=')) {
      if (env.SSH_AUTH_SOCK) out.push('--ssh', `${ssh.value}=${env.SSH_AUTH_SOCK}`);
      i += ssh.width - 1;
    } else out.push(args[i]);
  }
  return { args: out, env: sent };
}

/** The server's side: refuse args that would read the builder's environment for the client. */
function checkNoBuilderEnv(args: string[]): void {
  for (let i = 0; i < args.length; i++) {
    const buildArg = flagValue(args, i, '--build-arg');
    if (buildArg && !buildArg.value.includes('=')) {
      throw new Error(`--build-arg ${buildArg.value} has no value: it would read the builder's environment (the client gives values from its own)`);
    }
    const secret = flagValue(args, i, '--secret');
    const keys = secret ? secretKeys(secret.value).keys : {};
    const empty = ['src', 'source', 'env'].find((k) => keys[k] === '');
    if (empty) throw new Error(`--secret ${secret!.value}: ${empty}= is empty, which would read the builder's environment (the client sends its own)`);
    const from = secret && secretKeys(secret.value).env;
    if (from !== undefined && !from.startsWith(SECRET_ENV_PREFIX)) {
      throw new Error(`--secret ${secret!.value} reads the variable ${from}, which the builder would answer for (the client sends its own)`);
    }
    const ssh = flagValue(args, i, '--ssh');
    if (ssh && !ssh.value.includes('=')) throw new Error(`--ssh ${ssh.value} would use the builder's SSH_AUTH_SOCK (the client names its own)`);
  }
}

/**
 * The server's side: refuse args that would run RUN steps in the builder's own root (--isolation
 * none, which `auto` may fall back to; --force) or with all its capabilities (--allow
 * security.insecure): the sidecar builds in chroot isolation only (executorArgs asks for it).
 */
function checkIsolation(args: string[]): void {
  for (let i = 0; i < args.length; i++) {
    const isolation = flagValue(args, i, '--isolation');
    if (isolation && isolation.value !== 'chroot') {
      throw new Error(`--isolation ${isolation.value} is refused: the builder sidecar builds in chroot isolation only (RUN steps must never run in the builder's own root)`);
    }
    const force = flagValue(args, i, '--force');
    if (args[i] === '--force' || (force && force.width === 1 && force.value !== 'false')) {
      throw new Error('--force is refused: the builder sidecar builds in chroot isolation only');
    }
    const allow = flagValue(args, i, '--allow');
    if (allow && allow.value === 'security.insecure') {
      throw new Error('--allow security.insecure is refused: RUN steps in the builder sidecar never keep all of its capabilities');
    }
  }
}

/** The executor's argv for a request: a build always in chroot isolation (never `auto`'s fall-back to none). */
export function executorArgs(args: string[]): string[] {
  if (args[0] === 'push' || args[0] === 'version' || args[0] === '--version') return args;
  return ['--isolation=chroot', ...args];
}

/** Check a request from the wire; the message says what was wrong with it. */
export function parseBuildRequest(text: string): BuildRequest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('the build request is not JSON');
  }
  const r = v as Partial<BuildRequest>;
  if (!r || typeof r !== 'object' || !Array.isArray(r.args) || !r.args.every((a) => typeof a === 'string')) {
    throw new Error('the build request needs "args": an array of strings');
  }
  if (typeof r.cwd !== 'string' || !path.isAbsolute(r.cwd)) throw new Error('the build request needs "cwd": an absolute path');
  const env = r.env ?? {};
  if (typeof env !== 'object' || Array.isArray(env) || !Object.values(env).every((x) => typeof x === 'string')) {
    throw new Error('the build request\'s "env" must map names to strings');
  }
  const extra = Object.keys(env).filter((k) => !isForwardedEnv(k));
  if (extra.length > 0) throw new Error(`the build request carries environment a build does not read: ${extra.join(', ')}`);
  checkNoBuilderEnv(r.args);
  checkIsolation(r.args);
  // an "owner" (sent by earlier clients) is ignored: who the client is, the kernel says
  return { args: r.args, cwd: r.cwd, env: env as Record<string, string> };
}
