// RUN mounts of directories where the process may not mount (an ordinary container, Fargate):
// the source is copied to the target for the step, a cache mount's content is copied back
// afterwards, and whatever the image had at the target comes back untouched. Slower than a bind
// mount, but the step sees the same tree and the layer never holds the mounted content. A
// directory that is the build's alone (a cache mount, a writable bind's copy) is moved in and out
// instead, when it is on the root's filesystem: a big cache then costs two renames, not two copies.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveInRootSync } from '../../fs/in-root';
import { inImagePath, stillLeadsTo } from './root-path';
import type { BindMount } from './types';

interface Placed {
  mount: BindMount;
  hostPath: string;
  /** where the image's own content at the target waits during the step */
  hidden?: string;
  /** the source itself was moved to hostPath */
  moved?: boolean;
  /** the source as it was (to make a cache directory again that the step removed) */
  sourceStat: fs.Stats;
}

const copyTree = (from: string, to: string) =>
  fs.cpSync(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, force: true, errorOnExist: false });

export class CopyMounts {
  private placed: Placed[] = [];
  private created: string[] = [];
  private parents = new Map<string, fs.Stats>();
  /** in-image paths the step's mounts occupy, for the snapshotter's skip list */
  readonly targets = new Set<string>();

  constructor(private readonly root: string) {}

  place(mounts: BindMount[]): void {
    for (const m of mounts) {
      const parentInImage = path.posix.dirname(m.target);
      const { hostPath: parent, created } = resolveInRootSync(this.root, parentInImage, { create: true });
      for (const c of created) {
        this.created.push(path.join(this.root, c));
        this.targets.add(c);
      }
      if (!this.parents.has(parent) && !this.created.includes(parent)) this.parents.set(parent, fs.statSync(parent));
      const hostPath = path.join(parent, path.posix.basename(m.target));
      const st = fs.statSync(m.source);
      const p: Placed = { mount: m, hostPath, sourceStat: st };
      if (fs.existsSync(hostPath) || isSymlink(hostPath)) {
        p.hidden = path.join(parent, `.drydock-mount-${crypto.randomBytes(6).toString('hex')}`);
        fs.renameSync(hostPath, p.hidden);
      }
      this.placed.push(p);
      this.targets.add('/' + path.relative(this.root, hostPath).split(path.sep).join('/'));
      if (st.isDirectory() && m.owned && tryRename(m.source, hostPath)) {
        p.moved = true;
      } else if (st.isDirectory()) {
        copyTree(m.source, hostPath);
        fs.chownSync(hostPath, st.uid, st.gid);
        fs.chmodSync(hostPath, st.mode & 0o7777);
      } else {
        fs.copyFileSync(m.source, hostPath);
        fs.chownSync(hostPath, st.uid, st.gid);
        fs.chmodSync(hostPath, st.mode & 0o7777);
      }
    }
  }

  /** Take the mounts away (a writable directory mount's content goes back to its source first). */
  restore(): void {
    for (const p of this.placed.reverse()) {
      // A step that rerouted the target's parent (rm -r /a && ln -s /host/dir /a) made that path its
      // own: nothing is read back from it or put back through it (that would reach the host).
      const parentOurs = this.stillOurs(path.dirname(p.hostPath));
      // Only a directory goes back: the step may have left a symlink there (to /etc, say), which
      // must not be followed out here, on the host. Anything else leaves the cache empty.
      const leftDir = parentOurs && fs.lstatSync(p.hostPath, { throwIfNoEntry: false })?.isDirectory() === true;
      if (p.moved) {
        if (p.mount.owned === 'keep') {
          if (leftDir) moveBack(p.hostPath, p.mount.source);
          else remake(p.mount.source, p.sourceStat);
        }
      } else if (!p.mount.readonly && p.mount.owned !== 'discard' && p.sourceStat.isDirectory()) {
        for (const n of fs.readdirSync(p.mount.source)) fs.rmSync(path.join(p.mount.source, n), { recursive: true, force: true });
        if (leftDir) for (const n of fs.readdirSync(p.hostPath)) copyTree(path.join(p.hostPath, n), path.join(p.mount.source, n));
      }
      if (!parentOurs) continue;
      fs.rmSync(p.hostPath, { recursive: true, force: true });
      if (p.hidden) fs.renameSync(p.hidden, p.hostPath);
    }
    this.placed = [];
    for (const d of this.created.reverse()) {
      if (!this.stillOurs(d)) continue;
      try {
        fs.rmdirSync(d);
      } catch {
        /* the step wrote there: it belongs to the layer */
      }
    }
    this.created = [];
    // the parents' entries are as before: their times come back too, so no layer records them
    for (const [dir, st] of this.parents) if (this.stillOurs(dir) && fs.lstatSync(dir).ino === st.ino) fs.utimesSync(dir, st.atime, st.mtime);
    this.parents.clear();
  }

  private stillOurs(hostDir: string): boolean {
    return stillLeadsTo(this.root, inImagePath(this.root, hostDir), hostDir);
  }
}

/** rename, or false when it cannot be done (another filesystem, mostly): then it is copied */
function tryRename(from: string, to: string): boolean {
  try {
    fs.renameSync(from, to);
    return true;
  } catch {
    return false;
  }
}

/**
 * A moved cache goes home. If another build made a new one there meanwhile (it found this one
 * gone), ours replaces it: a cache may lose entries, never hold a mix.
 */
function moveBack(from: string, home: string): void {
  try {
    fs.renameSync(from, home);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    fs.rmSync(home, { recursive: true, force: true });
    fs.renameSync(from, home);
  }
}

/** An empty directory at `dir` with the owner and mode `was` had. */
function remake(dir: string, was: fs.Stats): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.chownSync(dir, was.uid, was.gid);
  fs.chmodSync(dir, was.mode & 0o7777);
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
