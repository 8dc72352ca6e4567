// The snapshotter that works everywhere: remember every path's lstat (compactly) and compare the
// next walk with it. The state of one finish() is the baseline of the next begin(), so between
// RUNs nothing is walked twice; COPY/ADD report what they wrote through addKnownChanges().
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreList, LayerEntry } from '../../fs';
import { byPath, Changed, entriesFor } from './entry-builder';
import { changed, Kind, recordOf, StatRecord } from './stat-record';
import { parallelWalk, PARALLEL_MIN_PATHS, planUnits, prestartWalkers, walkersAvailable, walkUnits } from './parallel-walk';
import { walkTree } from './tree-walk';
import type { Snapshotter, SnapshotterOptions } from './types';

type State = Map<string, StatRecord>;

const parentOf = (rel: string) => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};

export class StatWalkSnapshotter implements Snapshotter {
  readonly name = 'stat-walk' as const;
  readonly counters = { lstat: 0, readdir: 0 };
  private state: State | null = null;
  private readonly root: string;

  constructor(private readonly opts: SnapshotterOptions) {
    this.root = path.resolve(opts.root);
  }

  runRoot(): string {
    return this.root;
  }

  async begin(): Promise<void> {
    // a first walk of a root known to be big goes on in workers after a while: they boot meanwhile
    if (this.state === null && this.walkers() > 1 && (this.opts.sizeHint?.() ?? 0) >= this.parallelMin()) prestartWalkers(this.walkers());
    if (this.state === null) this.state = await this.walk();
    // the walk after the RUN will be on workers: they boot while the RUN runs
    if (this.walksInParallel()) prestartWalkers(this.walkers());
  }

  async finish(): Promise<LayerEntry[]> {
    if (this.state === null) throw new Error('snapshot: finish() without begin()');
    const before = this.state;
    const after = await this.walk();
    this.state = after;
    return diffStates(this.root, before, after);
  }

  invalidate(): void {
    this.state = null;
  }

  async addKnownChanges(paths: string[]): Promise<void> {
    const state = this.state;
    if (state === null) return; // the next begin() walks anyway
    const skip = this.skipList();
    for (const p of paths) {
      const rel = path.posix.normalize('/' + p).slice(1);
      if (rel === '' || skip.ignores('/' + rel)) {
        if (rel === '') this.state = null;
        continue;
      }
      // forget the old subtree, then record what is there now
      const prefix = rel + '/';
      state.delete(rel);
      for (const k of state.keys()) if (k.startsWith(prefix)) state.delete(k);
      let st: fs.Stats;
      try {
        this.counters.lstat++;
        st = await fs.promises.lstat(path.join(this.root, rel));
      } catch {
        continue; // deleted
      }
      state.set(rel, recordOf(st));
      if (st.isDirectory()) await walkTree(this.root, rel, skip, (r, s) => state.set(r, recordOf(s)), this.counters);
      // its parent's mtime moved when the entry was created
      const parent = parentOf(rel);
      if (parent !== '' && state.has(parent)) {
        this.counters.lstat++;
        state.set(parent, recordOf(await fs.promises.lstat(path.join(this.root, parent))));
      }
    }
  }

  private skipList(): IgnoreList {
    return new IgnoreList([...(this.opts.ignore ?? []), ...(this.opts.transient?.() ?? [])]);
  }

  /** How the last parallel walk split the root (it learns as it goes). */
  private readonly split = { unitSizes: new Map<string, number>(), splitDirs: new Set<string>() };
  private lastWalkSize = 0;

  private walkers(): number {
    return this.opts.walkers ?? walkersAvailable();
  }

  /** The first walk of a root learns its size: a big one is walked on every core from then on. */
  private parallelMin(): number {
    return this.opts.parallelMinPaths ?? PARALLEL_MIN_PATHS;
  }

  private walksInParallel(): boolean {
    return this.walkers() > 1 && this.lastWalkSize >= this.parallelMin();
  }

  private async walk(): Promise<State> {
    let state: State;
    if (this.walksInParallel()) {
      state = await parallelWalk(this.root, this.skipList(), this.counters, { parallel: this.walkers(), ...this.split });
    } else {
      // a root of unknown size: once it proves big, what is left of it goes on every core
      const walkers = this.walkers();
      const rest: string[] = [];
      const skip = this.skipList();
      state = new Map();
      await walkTree(this.root, '', skip, (rel, st) => state.set(rel, recordOf(st)), this.counters,
        walkers > 1 ? { budget: this.parallelMin(), rest } : {});
      if (rest.length > 0) await walkUnits(this.root, skip, this.counters, state, rest, Math.min(walkers, rest.length));
      // the next walk will be parallel: split it by what this one saw
      if (walkers > 1 && state.size >= this.parallelMin()) planUnits(state.keys(), state.size, walkers, this.split);
    }
    this.lastWalkSize = state.size;
    return state;
  }
}

/** The change from `before` to `after` as layer entries (exported for the overlay tests' oracle). */
export async function diffStates(root: string, before: State, after: State): Promise<LayerEntry[]> {
  const changes: Changed[] = [];
  const special: LayerEntry[] = [];
  const opaque = new Set<string>();
  const goneOrReplaced = new Set<string>(); // old directories whose old children need no whiteouts
  // Only what is new or changed can make an entry (or a directory opaque): sorting all the paths
  // of a big image would cost more than walking it (100,000 paths: ~0.15 s). Paths below a
  // replaced directory join them even when unchanged: they are the new directory's content.
  const candidates: string[] = [];
  const replacedDirs: string[] = [];
  for (const [rel, now] of after) {
    const was = before.get(rel);
    if (was !== undefined && was[0] === Kind.Dir && now[0] === Kind.Dir && was[1] !== now[1]) {
      candidates.push(rel);
      replacedDirs.push(rel + '/');
    } else if (was === undefined || changed(was, now)) {
      candidates.push(rel);
    }
  }
  if (replacedDirs.length > 0) {
    const chosen = new Set(candidates);
    for (const rel of after.keys()) if (!chosen.has(rel) && replacedDirs.some((d) => rel.startsWith(d))) candidates.push(rel);
  }
  // parents are decided before their children when visiting in path order
  const paths = candidates.sort((a, b) => byPath({ path: a }, { path: b }));
  const underOpaque = (rel: string) => {
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) if (opaque.has(p)) return true;
    return false;
  };
  for (const rel of paths) {
    const now = after.get(rel)!;
    const was = before.get(rel);
    if (was === undefined || underOpaque(rel)) {
      changes.push({ rel, rec: now });
      continue;
    }
    if (was[0] === Kind.Dir && now[0] === Kind.Dir) {
      if (was[1] !== now[1]) {
        // a new directory in place of the old one: hide everything the lower layers had there.
        // (If the filesystem handed the old inode number back, it looks like the same directory
        // and its old children get one whiteout each: the same tree after extraction.)
        opaque.add(rel);
        goneOrReplaced.add(rel);
        special.push({ path: rel, type: 'opaque', mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
        changes.push({ rel, rec: now });
      } else if (changed(was, now)) {
        changes.push({ rel, rec: now });
      }
      continue;
    }
    if (was[0] === Kind.Dir) {
      // a directory became something else: delete it (and its subtree) below, then add the new thing
      goneOrReplaced.add(rel);
      special.push({ path: rel, type: 'whiteout', mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
      changes.push({ rel, rec: now });
      continue;
    }
    if (changed(was, now)) changes.push({ rel, rec: now });
  }
  for (const rel of before.keys()) {
    if (after.has(rel)) continue;
    const parent = parentOf(rel);
    // only the top of a deleted subtree gets a whiteout
    if (parent !== '' && (!after.has(parent) || goneOrReplaced.has(parent) || after.get(parent)![0] !== Kind.Dir)) continue;
    if (parent !== '' && underOpaque(rel)) continue;
    special.push({ path: rel, type: 'whiteout', mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
  }
  const entries = await entriesFor(root, changes);
  return [...special, ...entries].sort(byPath);
}
