// Git repositories as ADD sources and as build contexts: which sources name one, and a checkout
// of the named commit in a directory, through the host's git (it speaks every transport and reads
// the user's git credentials; we never see or print them).
//
// BuildKit's forms (ADD, and https contexts): git://…, ssh://…, git@host:path, and http(s) URLs
// whose path ends in `.git`; a fragment
// `#ref[:subdir]` or the query form `?ref=…&subdir=…&checksum=…&keep-git-dir=…&submodules=…`.
// The ref is a branch, a tag or a commit; without one, the remote's HEAD.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { redact, registerSecret, UserError } from '../log';

export interface GitSource {
  /** what git is given to fetch from */
  remote: string;
  ref?: string;
  /** a directory inside the repository whose contents are copied (cleaned, relative) */
  subdir?: string;
  checksum?: string;
  keepGitDir?: boolean;
  submodules?: boolean;
  /** a commit to check out once `ref` is fetched (kaniko's git://…#ref#commit) */
  commit?: string;
  /** credentials sent as an HTTP Authorization header (kaniko's GIT_TOKEN, GIT_USERNAME/GIT_PASSWORD) */
  auth?: { username: string; password: string };
  /** do not verify the server's TLS certificate (kaniko's --git insecure-skip-tls=true) */
  insecureSkipTls?: boolean;
}

/** The git source `src` names, or null when it names something else (a plain URL, a local path). */
export function parseGitSource(src: string): GitSource | null {
  const scp = /^[\w.-]+@[\w.-]+:(?!\/\/)/.test(src);
  let u: URL | undefined;
  try {
    u = scp ? undefined : new URL(src);
  } catch {
    return null;
  }
  if (u) {
    const scheme = u.protocol.slice(0, -1);
    const isGit = scheme === 'git' || scheme === 'ssh' || ((scheme === 'http' || scheme === 'https') && u.pathname.endsWith('.git'));
    if (!isGit) return null;
  }
  let rest = src;
  let fragment: string | undefined;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  const out: GitSource = { remote: rest };
  const q = u?.search ? rest.indexOf('?') : -1;
  if (q >= 0) {
    out.remote = rest.slice(0, q);
    for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) {
      if (k === 'ref' || k === 'tag' || k === 'branch') out.ref = v;
      else if (k === 'subdir') out.subdir = v;
      else if (k === 'checksum') out.checksum = v;
      else if (k === 'keep-git-dir') out.keepGitDir = parseBool(`git source ${redact(src)}: ${k}`, v);
      else if (k === 'submodules') out.submodules = parseBool(`git source ${redact(src)}: ${k}`, v);
      else throw new UserError(`git source ${redact(src)}: unknown query parameter "${k}" (expected ref, subdir, checksum, keep-git-dir or submodules)`);
    }
  }
  if (fragment !== undefined) {
    if (out.ref !== undefined || out.subdir !== undefined) throw new UserError(`git source ${redact(src)}: give the ref and subdir either in the #fragment or in the query, not both`);
    const colon = fragment.indexOf(':');
    const ref = colon < 0 ? fragment : fragment.slice(0, colon);
    if (ref) out.ref = ref;
    if (colon >= 0 && fragment.slice(colon + 1)) out.subdir = fragment.slice(colon + 1);
  }
  if (out.ref !== undefined && (out.ref.startsWith('-') || /[\s\0]/.test(out.ref))) throw new UserError(`git source ${redact(src)}: invalid ref "${out.ref}"`);
  return out;
}

/** `what`: the key, as the error names it (a bare key means true). */
function parseBool(what: string, v: string): boolean {
  if (v === 'true' || v === '1' || v === '') return true;
  if (v === 'false' || v === '0') return false;
  throw new UserError(`${what}=${v}: expected true or false`);
}

/** kaniko's --git value: comma-separated key=value (branch, single-branch, recurse-submodules, insecure-skip-tls, depth). */
export function parseGitOptions(text: string): { branch?: string; recurseSubmodules?: boolean; insecureSkipTls?: boolean } {
  const out: { branch?: string; recurseSubmodules?: boolean; insecureSkipTls?: boolean } = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    const k = i < 0 ? part : part.slice(0, i);
    const v = i < 0 ? '' : part.slice(i + 1);
    if (k === 'branch') out.branch = v || undefined;
    else if (k === 'recurse-submodules') out.recurseSubmodules = parseBool(`--git ${k}`, v);
    else if (k === 'insecure-skip-tls') out.insecureSkipTls = parseBool(`--git ${k}`, v);
    else if (k === 'single-branch') parseBool(`--git ${k}`, v); // only the one ref is ever fetched
    else if (k === 'depth') {
      if (!/^\d+$/.test(v)) throw new UserError(`--git depth=${v}: expected a number`);
    } else throw new UserError(`--git: unknown option "${k}" (expected branch, single-branch, recurse-submodules, insecure-skip-tls or depth)`);
  }
  return out;
}

/**
 * kaniko's git context, `git://HOST/PATH[#REF[#COMMIT]]`: fetched over https (http with
 * GIT_PULL_METHOD=http), with GIT_TOKEN or GIT_USERNAME/GIT_PASSWORD as credentials and --git's
 * options. A token given as the URL's user (git://TOKEN@github.com/...) is never printed.
 */
export function kanikoGitSource(spec: string, env: NodeJS.ProcessEnv, gitOptions = ''): GitSource {
  const [location, ref, commit, ...rest] = spec.slice('git://'.length).split('#');
  if (rest.length > 0 || !location) throw new UserError(`build context ${redact(spec)}: expected git://HOST/PATH[#REF[#COMMIT]]`);
  const at = location.indexOf('@');
  const slash = location.indexOf('/');
  if (at > 0 && (slash < 0 || at < slash)) for (const part of location.slice(0, at).split(':')) registerSecret(decodeURIComponent(part));
  if (commit && !/^[0-9a-f]{4,64}$/i.test(commit)) throw new UserError(`build context ${redact(spec)}: "${commit}" is not a commit id (hex digits)`);
  const method = env.GIT_PULL_METHOD || 'https';
  if (method !== 'https' && method !== 'http') throw new UserError(`GIT_PULL_METHOD=${method}: expected https or http`);
  const opts = parseGitOptions(gitOptions);
  const src: GitSource = {
    remote: `${method}://${location}`, ref: ref || (opts.branch ? `refs/heads/${opts.branch}` : undefined), commit: commit || undefined,
    submodules: opts.recurseSubmodules, insecureSkipTls: opts.insecureSkipTls,
  };
  const password = env.GIT_PASSWORD || env.GIT_TOKEN;
  if (password) src.auth = { username: env.GIT_USERNAME || (env.GIT_PASSWORD ? '' : 'x-access-token'), password };
  return src;
}

export interface Checkout {
  /** the directory whose contents are to be copied (the subdir when one is named) */
  dir: string;
  commit: string;
  /** the commit's time: the copied files' mtime, so that the layer depends on the commit only */
  time: Date;
}

interface GitRun { code: number; stderr: string; stdout: string }

/**
 * Fetch `src` into the empty directory `dir` and check its commit out. Shallow where the server
 * allows it (a dumb-http server, or a commit a server will not serve by name, gets a full fetch).
 */
export async function checkoutGit(git: string, src: GitSource, dir: string, where: string, keepGitDir = false): Promise<Checkout> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true', LC_ALL: 'C' };
  for (const k of ['SSH_AUTH_SOCK', 'GIT_SSH_COMMAND', 'GIT_SSL_CAINFO', 'GIT_SSL_NO_VERIFY', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'] as const) {
    const v = process.env[k];
    if (v !== undefined) (env as Record<string, string>)[k] = v;
  }
  if (src.insecureSkipTls) (env as Record<string, string>).GIT_SSL_NO_VERIFY = 'true';
  if (src.auth) {
    // through git's environment config, not the command line (which other users may read)
    const basic = Buffer.from(`${src.auth.username}:${src.auth.password}`).toString('base64');
    registerSecret(src.auth.password);
    registerSecret(basic);
    Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` });
  }
  const run = (args: string[]) => new Promise<GitRun>((resolve) => {
    execFile(git, args, { env, cwd: dir, maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && !stderr ? err.message : '') });
    });
  });
  const what = `${redact(src.remote)}${src.ref ? ` (ref ${src.ref})` : ''}`;
  const fail = (doing: string, r: GitRun): never => {
    const line = r.stderr.trim().split('\n').filter(Boolean).slice(-2).join('; ');
    throw new UserError(`${where}: cannot ${doing} ${what}: ${redact(line) || `git exited ${r.code}`}`);
  };
  await fs.promises.mkdir(dir, { recursive: true });
  let r = await run(['init', '-q', '.']);
  if (r.code !== 0) fail('prepare a checkout of', r);
  const ref = src.ref ?? 'HEAD';
  // a commit below the ref needs its history: no shallow fetch then
  r = src.commit ? { code: 1, stdout: '', stderr: '' } : await run(['fetch', '-q', '--no-tags', '--depth=1', '--', src.remote, ref]);
  if (r.code !== 0) r = await run(['fetch', '-q', '--no-tags', '--', src.remote, ref]);
  let target = src.commit ?? 'FETCH_HEAD';
  if (r.code !== 0 && /^[0-9a-f]{7,64}$/i.test(ref)) {
    // a commit that the server does not serve by name: fetch its branches and tags, then look for it
    r = await run(['fetch', '-q', '--', src.remote, '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
    target = ref;
  }
  if (r.code !== 0) fail('fetch', r);
  r = await run(['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', target, '--']);
  if (r.code !== 0) fail('check out', r);
  if (src.submodules !== false && fs.existsSync(path.join(dir, '.gitmodules'))) {
    r = await run(['submodule', 'update', '-q', '--init', '--recursive', '--depth=1']);
    if (r.code !== 0) r = await run(['submodule', 'update', '-q', '--init', '--recursive']);
    if (r.code !== 0) fail('fetch the submodules of', r);
  }
  r = await run(['log', '-1', '--format=%H %ct']);
  if (r.code !== 0) fail('read the commit of', r);
  const [commit, seconds] = r.stdout.trim().split(' ');
  if (src.checksum !== undefined) {
    const want = src.checksum.toLowerCase();
    if (!/^[0-9a-f]{7,64}$/.test(want)) throw new UserError(`${where}: invalid checksum "${src.checksum}" for ${what}: expected a commit id (7 to 64 hex digits)`);
    if (!commit.startsWith(want)) throw new UserError(`${where}: checksum mismatch for ${what}: expected commit ${want}, got ${commit}`);
  }
  if (!(keepGitDir || src.keepGitDir)) await removeGitDirs(dir);
  let out = dir;
  if (src.subdir) {
    const parts = src.subdir.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new UserError(`${where}: the subdir "${src.subdir}" of ${what} must stay inside the repository`);
    out = path.join(dir, ...parts);
    const st = fs.lstatSync(out, { throwIfNoEntry: false });
    if (!st?.isDirectory()) throw new UserError(`${where}: ${what} has no directory "${src.subdir}" at commit ${commit}`);
  }
  return { dir: out, commit, time: new Date(Number(seconds) * 1000) };
}

/** .git of the checkout and of its submodules (files there: "gitdir: ..." pointers). */
async function removeGitDirs(dir: string): Promise<void> {
  await fs.promises.rm(path.join(dir, '.git'), { recursive: true, force: true });
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.promises.readdir(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      if (fs.existsSync(path.join(sub, '.git'))) await fs.promises.rm(path.join(sub, '.git'), { recursive: true, force: true });
      await walk(sub);
    }
  };
  if (fs.existsSync(path.join(dir, '.gitmodules'))) await walk(dir);
}
