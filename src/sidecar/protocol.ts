// The builder sidecar's wire protocol: one WebSocket per build, on a unix socket shared by the
// containers of a task (the agent's and the builder's; the Buildkite set-up in the seeds does the
// same with socat and a shell). The agent container then needs no root: only the builder runs as
// root, in chroot isolation, with the task's workspace volume mounted at the same path in both.
//
//   client → server   one text frame: BuildRequest (JSON); its `--build-arg NAME`s already carry
//                     the client's values, so nothing of the builder's environment reaches a build
//   server → client   binary frames: one byte (1 stdout, 2 stderr), then the executor's bytes
//                     a last text frame: BuildEnd (JSON); the server then closes
//   client closes     before BuildEnd: the build is stopped (SIGTERM: the executor kills its
//                     RUN step and removes its work dir), as a Jenkins abort stops a local build
// GET /v1/health answers 200 "ok" (the ECS health check of the builder container).
import * as path from 'node:path';

export const BUILD_PATH = '/v1/build';
export const HEALTH_PATH = '/v1/health';
export const STDOUT = 1;
export const STDERR = 2;

export interface BuildRequest {
  /** the executor's arguments, as given to `executor` in the agent container */
  args: string[];
  /** the client's working directory: relative paths in args resolve there (a shared volume) */
  cwd: string;
  /** the only environment that crosses: SOURCE_DATE_EPOCH (FORWARDED_ENV) */
  env: Record<string, string>;
  /**
   * the client's user: the files the build writes for it (outputPaths) are given to it, so that
   * the agent can read and remove them later (the builder runs as root)
   */
  owner?: { uid: number; gid: number };
}

/** Flags whose value is a file or directory the build writes for the caller. */
const OUTPUT_FLAGS = ['--digest-file', '--image-name-with-digest-file', '--image-name-tag-with-digest-file', '--tar-path', '--oci-layout-path'];

/** The paths the build writes for the caller, as given in its args (relative to its cwd). */
export function outputPaths(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    for (const flag of OUTPUT_FLAGS) {
      if (args[i] === flag && args[i + 1] !== undefined) out.push(args[i + 1]);
      else if (args[i].startsWith(`${flag}=`)) out.push(args[i].slice(flag.length + 1));
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

/** `--build-arg NAME` or `--build-arg=NAME`: the NAME of an arg whose value comes from the environment. */
function bareBuildArg(args: string[], i: number): { name: string; width: number } | undefined {
  const a = args[i];
  const [value, width] = a === '--build-arg' ? [args[i + 1], 2] : a.startsWith('--build-arg=') ? [a.slice('--build-arg='.length), 1] : [undefined, 0];
  return value !== undefined && !value.includes('=') ? { name: value, width } : undefined;
}

/**
 * The args with every `--build-arg NAME` given its value from the client's environment
 * (`--build-arg NAME=VALUE`), or dropped when NAME is unset there (Docker's rule: then the arg
 * has no value). So the builder's environment never answers for the client's.
 */
export function resolveBuildArgs(args: string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const bare = bareBuildArg(args, i);
    if (!bare) {
      out.push(args[i]);
      continue;
    }
    if (env[bare.name] !== undefined) out.push('--build-arg', `${bare.name}=${env[bare.name]}`);
    i += bare.width - 1;
  }
  return out;
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
  const extra = Object.keys(env).filter((k) => !FORWARDED_ENV.includes(k));
  if (extra.length > 0) throw new Error(`the build request carries environment a build does not read: ${extra.join(', ')}`);
  for (let i = 0; i < r.args.length; i++) {
    const bare = bareBuildArg(r.args, i);
    if (bare) throw new Error(`--build-arg ${bare.name} has no value: it would read the builder's environment (the client gives values from its own)`);
  }
  const owner = r.owner;
  if (owner !== undefined && !(owner && Number.isInteger(owner.uid) && Number.isInteger(owner.gid) && owner.uid >= 0 && owner.gid >= 0)) {
    throw new Error('the build request\'s "owner" must be {"uid": N, "gid": N}');
  }
  return { args: r.args, cwd: r.cwd, env: env as Record<string, string>, ...(owner ? { owner: { uid: owner.uid, gid: owner.gid } } : {}) };
}
