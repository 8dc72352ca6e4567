// What a build in the sidecar may read: only what its client could read itself. The builder runs
// as root and sees its own files (its environment in /proc, its composed DOCKER_CONFIG), so every
// path a request names is resolved (realpath) and must lie in the workspace the client shares (the
// mount holding its working directory: the task's workspace volume), outside /proc, /sys, /dev
// and the builder's credentials, and be readable by the client's uid and gid (peer.ts) along its
// whole real path, in a tree the client owns (its workspace, its @tmp).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flagValue, OUTPUT_FLAGS } from './protocol';

export interface Who {
  uid: number;
  gid: number;
}

/** Directories no request may name, whatever their mode. */
export const ALWAYS_DENIED = ['/proc', '/sys', '/dev'];

const R = 4;
const W = 2;
const X = 1;

/** Whether `who` has `bits` on a file of these stats (owner, group, other; root has all; no supplementary groups). */
export function permits(st: fs.Stats, who: Who, bits: number): boolean {
  if (who.uid === 0) return true;
  const m = st.uid === who.uid ? st.mode >> 6 : st.gid === who.gid ? st.mode >> 3 : st.mode;
  return (m & bits) === bits;
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** The mount point holding a real path (/proc/self/mountinfo's longest prefix). */
export function mountPointOf(real: string): string {
  let best = '/';
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return best;
  }
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mp = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (under(real, mp) && mp.length > best.length) best = mp;
  }
  return best;
}

export class PathPolicy {
  /** the real working directory of the request */
  readonly cwd: string;
  /** the mount holding it: paths must stay inside */
  readonly workspace: string;

  constructor(cwd: string, readonly who: Who, private readonly denied: string[]) {
    const real = this.real(path.resolve(cwd), `the working directory ${cwd}`);
    this.cwd = real;
    this.workspace = mountPointOf(real);
    this.searchable(real, 'the working directory');
  }

  /** the real path of an absolute path; `label` names it as the client gave it */
  private real(abs: string, label: string): string {
    for (const d of ALWAYS_DENIED) if (under(abs, d)) throw new Error(`${label} is in ${d}, which a build in the sidecar never reads`);
    const real = fs.realpathSync(abs);
    for (const d of [...ALWAYS_DENIED, ...this.denied]) {
      if (under(real, d)) throw new Error(`${label} is${real === abs ? '' : ` (through a symlink, ${real})`} in ${d}, which a build in the sidecar never reads for a client`);
    }
    return real;
  }

  /** who may search every directory down to (not including) `real` */
  private searchable(real: string, what: string): void {
    const parts = real.split('/').filter(Boolean);
    let dir = '/';
    for (let i = 0; i < parts.length; i++) {
      if (!permits(fs.statSync(dir), this.who, X)) throw new Error(`${what}: uid ${this.who.uid} may not enter ${dir}, so the sidecar does not read it either`);
      dir = path.join(dir, parts[i]);
    }
  }

  /** whether `real` or a directory above it, inside the workspace, belongs to the client */
  private ownedAncestor(real: string): boolean {
    for (let p = real; under(p, this.workspace); p = path.dirname(p)) {
      if (fs.statSync(p).uid === this.who.uid) return true;
      if (p === '/' || p === this.workspace) break;
    }
    return false;
  }

  /**
   * Check an input: resolved from the working directory, it must exist inside the workspace and
   * be readable (a directory: listable) by the client. `socket`: connectable (writable). A path
   * that does not exist is left to the executor to report.
   */
  input(p: string, what: string, kind: 'read' | 'socket' = 'read'): void {
    const abs = path.resolve(this.cwd, p);
    if (!fs.existsSync(abs)) {
      for (const d of ALWAYS_DENIED) if (under(abs, d)) throw new Error(`${what} ${p} is in ${d}, which a build in the sidecar never reads`);
      return;
    }
    const real = this.real(abs, `${what} ${p}`);
    if (!under(real, this.workspace)) {
      throw new Error(`${what} ${p}${real === abs ? '' : ` (${real})`} is outside the workspace ${this.workspace} the client shares with the builder`);
    }
    this.searchable(real, `${what} ${p}`);
    // the client's own tree (its workspace, its @tmp): what lies there it made, or was made for it;
    // a readable directory elsewhere (/etc, the builder's image) may hold what only root reads
    if (this.who.uid !== 0 && !this.ownedAncestor(real)) {
      throw new Error(`${what} ${p}${real === abs ? '' : ` (${real})`} is not in a directory of uid ${this.who.uid}: a build in the sidecar reads only the client's own files`);
    }
    const st = fs.statSync(real);
    if (st.isDirectory()) {
      const inside = [...ALWAYS_DENIED, ...this.denied].find((d) => under(d, real));
      if (inside) throw new Error(`${what} ${p}${real === abs ? '' : ` (${real})`} holds ${inside}, which a build in the sidecar never reads for a client`);
    }
    const bits = kind === 'socket' ? W : st.isDirectory() ? R | X : R;
    if (!permits(st, this.who, bits)) throw new Error(`${what} ${p}: uid ${this.who.uid} may not ${kind === 'socket' ? 'connect to' : 'read'} it, so the sidecar does not either`);
  }
}

const REMOTE_CONTEXT = /^(s3|https?|git):\/\//;

/** Values of a flag in both spellings (and -Xvalue for a short flag), at every position (a superset of what the executor takes). */
function values(args: string[], ...flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    for (const flag of flags) {
      const v = flagValue(args, i, flag);
      if (v) out.push(v.value);
      else if (/^-[a-z]$/.test(flag) && args[i].startsWith(flag) && args[i].length > 2) out.push(args[i].slice(2));
    }
  }
  return out;
}

/** Check every input a request's args name (the executor's, or `push`'s); throws saying which is refused. */
export function checkInputs(args: string[], policy: PathPolicy): void {
  if (args[0] === 'push') {
    // its layout or tarball: whichever word is a path
    for (const a of args.slice(1)) if (!a.startsWith('-')) policy.input(a, 'push');
  } else {
    const contexts = values(args, '--context', '-c');
    if (contexts.length === 0) contexts.push('/workspace/');
    const subs = values(args, '--context-sub-path');
    const local: string[] = [];
    for (const c of contexts) {
      if (REMOTE_CONTEXT.test(c) || c === 'tar://stdin') continue;
      const p = c.replace(/^(dir|tar):\/\//, '');
      policy.input(p, '--context');
      local.push(path.resolve(policy.cwd, p));
    }
    const remote = local.length < contexts.length;
    for (const s of subs) {
      if (remote && (path.isAbsolute(s) || path.normalize(s).startsWith('..'))) throw new Error(`--context-sub-path ${s} leaves the build context`);
      for (const c of local) {
        if (fs.statSync(c, { throwIfNoEntry: false })?.isDirectory()) policy.input(path.resolve(c, s), '--context-sub-path');
      }
    }
    const dockerfiles = values(args, '--dockerfile', '-f');
    if (dockerfiles.length === 0) dockerfiles.push('Dockerfile');
    for (const f of dockerfiles) {
      if (path.isAbsolute(f)) {
        policy.input(f, '--dockerfile');
        continue;
      }
      if (remote && path.normalize(f).startsWith('..')) throw new Error(`--dockerfile ${f} leaves the build context`);
      for (const c of local) {
        for (const dir of [c, ...subs.map((s) => path.resolve(c, s))]) policy.input(path.join(dir, f), '--dockerfile');
      }
      policy.input(f, '--dockerfile');
    }
    for (const s of values(args, '--secret')) {
      for (const part of s.split(',')) {
        const m = /^(src|source)=(.+)$/.exec(part);
        if (m) policy.input(m[2], '--secret src');
      }
    }
    for (const s of values(args, '--ssh')) {
      const eq = s.indexOf('=');
      if (eq > 0) for (const sock of s.slice(eq + 1).split(',')) if (sock) policy.input(sock, '--ssh', 'socket');
    }
    for (const d of values(args, '--cache-dir')) policy.input(d, '--cache-dir');
  }
  for (const c of values(args, '--registry-certificate')) {
    const eq = c.indexOf('=');
    policy.input(eq >= 0 ? c.slice(eq + 1) : c, '--registry-certificate');
  }
  for (const c of values(args, '--registry-client-cert')) {
    const eq = c.indexOf('=');
    for (const f of (eq >= 0 ? c.slice(eq + 1) : c).split(',')) if (f) policy.input(f, '--registry-client-cert');
  }
}

/** An output checked before the build: where the build will write, and the first part of it the build makes. */
export interface CheckedOutput {
  /** absolute, as the executor will write it */
  abs: string;
  /** the first component that did not exist (mkdir -p makes it), or abs itself: what becomes the client's */
  made: string;
}

/**
 * Check an output before the build: inside the workspace, outside /proc, /sys, /dev, no symlink
 * anywhere on its way (the build writes as root and must not be led elsewhere), and where the
 * client could write it itself: an existing target writable by it, else the directory it goes in.
 */
export function checkOutput(policy: PathPolicy, p: string, what: string): CheckedOutput {
  const abs = path.resolve(policy.cwd, p);
  for (const d of ALWAYS_DENIED) if (under(abs, d)) throw new Error(`${what} ${p} is in ${d}`);
  if (!under(abs, policy.workspace)) throw new Error(`${what} ${p} is outside the workspace ${policy.workspace} the client shares with the builder`);
  const parts = abs.split('/').filter(Boolean);
  let at = '/';
  let parent = fs.lstatSync('/');
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(at, parts[i]);
    const st = fs.lstatSync(next, { throwIfNoEntry: false });
    if (!st) {
      if (!permits(parent, policy.who, W | X)) throw new Error(`${what} ${p}: uid ${policy.who.uid} may not write in ${at}, so the sidecar does not either`);
      return { abs, made: next };
    }
    if (st.isSymbolicLink()) throw new Error(`${what} ${p}: ${next} is a symlink; the sidecar writes outputs only where no symlink leads`);
    if (i < parts.length - 1 && !st.isDirectory()) throw new Error(`${what} ${p}: ${next} is not a directory`);
    if (!permits(parent, policy.who, X)) throw new Error(`${what} ${p}: uid ${policy.who.uid} may not enter ${at}, so the sidecar does not write there either`);
    parent = st;
    at = next;
  }
  const st = fs.lstatSync(abs);
  if (!permits(st, policy.who, st.isDirectory() ? W | X : W)) throw new Error(`${what} ${p}: uid ${policy.who.uid} may not write it, so the sidecar does not either`);
  return { abs, made: abs };
}

const O_DIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;

/** The directory holding `abs`, opened component by component without following a symlink (openat-style). */
function openParent(abs: string): number {
  let fd = fs.openSync('/', O_DIR);
  const parts = abs.split('/').filter(Boolean);
  try {
    for (const part of parts.slice(0, -1)) {
      const next = fs.openSync(`/proc/self/fd/${fd}/${part}`, O_DIR);
      fs.closeSync(fd);
      fd = next;
    }
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * Give what the build made at `made` (a file or a tree) to the client, only when the directory
 * it lies in is the client's. Every step goes through descriptors opened with O_NOFOLLOW, so a
 * symlink swapped in meanwhile is never followed; only root's single-link files and directories
 * (what the build wrote) change owner.
 */
export function giveTo(made: string, who: Who): void {
  const parent = openParent(made);
  try {
    if (fs.fstatSync(parent).uid !== who.uid) throw new Error(`${path.dirname(made)} is not uid ${who.uid}'s`);
    chownAt(parent, path.basename(made), who);
  } finally {
    fs.closeSync(parent);
  }
}

function chownAt(dirFd: number, name: string, who: Who): void {
  const at = `/proc/self/fd/${dirFd}/${name}`;
  const l = fs.lstatSync(at, { throwIfNoEntry: false });
  if (!l || !(l.isDirectory() || l.isFile())) return; // symlinks, sockets, devices: left alone
  let fd: number;
  try {
    fd = fs.openSync(at, (l.isDirectory() ? O_DIR : fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW) | fs.constants.O_NONBLOCK);
  } catch {
    return; // swapped for a symlink (ELOOP) or gone
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.ino !== l.ino || st.dev !== l.dev || st.uid !== 0) return;
    if (st.isDirectory()) {
      fs.fchownSync(fd, who.uid, who.gid);
      for (const n of fs.readdirSync(`/proc/self/fd/${fd}`)) chownAt(fd, n, who);
    } else if (st.isFile() && st.nlink === 1) {
      fs.fchownSync(fd, who.uid, who.gid);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Check every path a request writes (outputPaths, --cache-repo oci:DIR, --kaniko-dir) before the
 * build; returns those to give to the client afterwards (not the work dir: it is removed).
 */
export function checkOutputs(args: string[], policy: PathPolicy): CheckedOutput[] {
  const give: CheckedOutput[] = [];
  for (const flag of OUTPUT_FLAGS) for (const v of values(args, flag)) give.push(checkOutput(policy, v, flag));
  for (const v of values(args, '--cache-repo')) if (v.startsWith('oci:')) give.push(checkOutput(policy, v.slice(4), '--cache-repo'));
  for (const v of values(args, '--kaniko-dir')) checkOutput(policy, v, '--kaniko-dir');
  return give;
}
