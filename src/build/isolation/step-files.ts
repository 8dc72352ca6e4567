// Files a step needs in its root that must never reach a layer: resolv.conf, hosts and hostname
// (Docker bind-mounts them), /dev nodes, and mount-point directories. Whatever was at those paths
// before is put back afterwards: same content, type, mode, owner and times; a parent directory
// whose entries are the same as before gets its old times back too (a
// step that only rewrote our files leaves no trace on /etc).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../../log';
import { inImagePath, resolveInRoot, stillLeadsTo } from './root-path';
import { listenProxy, type SocketProxy } from './socket-proxy';

export type StepItem =
  | { kind: 'file'; path: string; content: string | Buffer; mode: number; onlyIfMissing?: boolean }
  | { kind: 'char'; path: string; major: number; minor: number; mode: number; onlyIfMissing: true }
  | { kind: 'dir'; path: string; onlyIfMissing: true }
  /** a hard link to a host file on the root's filesystem (the step's output FIFOs as /dev/stdout, /dev/stderr) */
  | { kind: 'link'; path: string; target: string; onlyIfMissing: true }
  /** a socket relaying to `upstream` on the host (RUN --mount=type=ssh) */
  | { kind: 'socket'; path: string; upstream: string; mode: number; uid: number; gid: number; onlyIfMissing?: false };

/** What was at a path before we touched it. */
type Saved =
  | { kind: 'absent' }
  | { kind: 'file'; content: Buffer; st: fs.Stats }
  | { kind: 'symlink'; target: string; st: fs.Stats };

interface Placed {
  item: StepItem;
  inImage: string;
  hostPath: string;
  saved: Saved;
  proxy?: SocketProxy;
}

interface ParentTimes {
  hostPath: string;
  before: fs.Stats;
  /** the directory's names before we touched it: same names afterwards => its old times come back */
  names: string[];
}

/** Node has no mknod(2): the runner supplies one (mknod(1) by absolute path). */
export type MknodFn = (hostPath: string, mode: number, major: number, minor: number) => Promise<void>;

async function lstatOrNull(p: string): Promise<fs.Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (e: any) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
}

async function namesOf(dir: string): Promise<string[] | null> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch {
    return null;
  }
}

export class StepFiles {
  private placed: Placed[] = [];
  private createdDirs: string[] = [];
  private parents = new Map<string, ParentTimes>();
  /** every in-image path ever placed, for the snapshotter's skip list */
  readonly everPlaced = new Set<string>();

  constructor(private readonly root: string, private readonly mknod: MknodFn) {}

  async place(items: StepItem[]): Promise<void> {
    await this.rememberParent(this.root);
    for (const item of items) {
      const { hostPath: parentHost, created } = await resolveInRoot(this.root, path.posix.dirname(item.path), { create: true });
      for (const c of created) this.createdDirs.push(path.join(this.root, c));
      await this.rememberParent(parentHost);
      const hostPath = path.join(parentHost, path.posix.basename(item.path));
      const inImage = '/' + path.relative(this.root, hostPath).split(path.sep).join('/');
      const st = await lstatOrNull(hostPath);
      if (st && item.onlyIfMissing) continue;
      const saved = await this.save(hostPath, st, item.path);
      const placed: Placed = { item, inImage, hostPath, saved };
      this.placed.push(placed);
      this.everPlaced.add(inImage);
      if (st) await fsp.rm(hostPath, { force: true });
      if (item.kind === 'socket') {
        placed.proxy = await listenProxy(hostPath, item.upstream, item);
      } else if (item.kind === 'file') {
        await fsp.writeFile(hostPath, item.content, { mode: item.mode });
        await fsp.chmod(hostPath, item.mode);
      } else if (item.kind === 'char') {
        await this.mknod(hostPath, item.mode, item.major, item.minor);
      } else if (item.kind === 'link') {
        // on another filesystem (EXDEV) the step goes without it
        await fsp.link(item.target, hostPath).catch(() => undefined);
      } else {
        await fsp.mkdir(hostPath, { mode: 0o755 });
      }
    }
    for (const c of this.createdDirs) this.everPlaced.add('/' + path.relative(this.root, c).split(path.sep).join('/'));
  }

  /** Put back what was there before `place`, in reverse order. Safe to call more than once. */
  async restore(): Promise<void> {
    for (const p of this.placed.reverse()) {
      // a step that rerouted the parent (rm -r /etc && ln -s /host/dir /etc) made that path its
      // own: nothing is put back through it (it would write or delete on the host)
      if (!this.stillOurs(path.dirname(p.hostPath))) {
        await p.proxy?.close();
        continue;
      }
      if (p.item.kind === 'dir') {
        // a mount point we made: keep it if the step (without a mount on it) wrote into it
        await fsp.rmdir(p.hostPath).catch(() => undefined);
        continue;
      }
      await p.proxy?.close();
      await fsp.rm(p.hostPath, { recursive: true, force: true });
      const s = p.saved;
      if (s.kind === 'file') {
        await fsp.writeFile(p.hostPath, s.content, { mode: s.st.mode & 0o7777 });
        await fsp.chown(p.hostPath, s.st.uid, s.st.gid);
        await fsp.chmod(p.hostPath, s.st.mode & 0o7777);
        await fsp.utimes(p.hostPath, s.st.atime, s.st.mtime);
      } else if (s.kind === 'symlink') {
        await fsp.symlink(s.target, p.hostPath);
        await fsp.lchown(p.hostPath, s.st.uid, s.st.gid);
        await fsp.lutimes(p.hostPath, s.st.atime, s.st.mtime);
      }
    }
    this.placed = [];
    // directories we had to create: deepest first, only when the step left nothing in them
    for (const d of this.createdDirs.reverse()) {
      if (!this.stillOurs(d)) continue;
      try {
        await fsp.rmdir(d);
        this.parents.delete(d);
      } catch {
        /* not empty: the step wrote there, so it belongs to the layer now */
      }
    }
    this.createdDirs = [];
    for (const p of this.parents.values()) {
      if (!this.stillOurs(p.hostPath) || (await fsp.lstat(p.hostPath)).ino !== p.before.ino) continue;
      const names = await namesOf(p.hostPath);
      if (names !== null && names.join('/') === p.names.join('/')) await fsp.utimes(p.hostPath, p.before.atime, p.before.mtime);
    }
    this.parents.clear();
  }

  /** `hostDir` (in the root) is still reached by its in-image path, as a real directory. */
  private stillOurs(hostDir: string): boolean {
    return stillLeadsTo(this.root, inImagePath(this.root, hostDir), hostDir);
  }

  private async rememberParent(hostPath: string): Promise<void> {
    if (this.parents.has(hostPath)) return;
    // a directory we create ourselves is removed again, its own parent is what needs remembering
    if (this.createdDirs.includes(hostPath)) return;
    this.parents.set(hostPath, { hostPath, before: await fsp.lstat(hostPath), names: (await namesOf(hostPath)) ?? [] });
  }

  private async save(hostPath: string, st: fs.Stats | null, inImage: string): Promise<Saved> {
    if (!st) return { kind: 'absent' };
    if (st.isSymbolicLink()) return { kind: 'symlink', target: await fsp.readlink(hostPath), st };
    if (st.isFile()) return { kind: 'file', content: await fsp.readFile(hostPath), st };
    throw new UserError(`cannot supply ${inImage} for the RUN step: the image has a ${st.isDirectory() ? 'directory' : 'special file'} there, expected a regular file or symlink`);
  }
}
