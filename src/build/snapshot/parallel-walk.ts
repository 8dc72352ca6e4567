// The stat walk of a big root on every core: this thread and worker threads walk its subtrees
// (units); the workers send back what they saw, which this thread merges into the state map. A
// walk is one lstat per path and nothing else can shorten it (snapshot/stat-walk.ts), so cores
// are what is left. On one core it would only add the copying, and a worker's boot costs more
// than a small root's walk, so the snapshotter asks for it only with several cores and a big root.
//
// Units: this thread lists the root itself, and every directory found there is a unit, except
// those that held more than their share of paths last time (one unit of 80,000 would keep one
// worker busy alone): this thread lists those too and hands out their subdirectories instead.
// Walkers take units in batches, the biggest (by the last walk) first, until none are left.
//
// Protocol (this file holds both sides; walk-thread.ts is the worker's script): main → worker
// {root, skip} once per walk, then {units} per batch. Worker → main {units, counts, rels, recs,
// lstat, readdir} per batch (recs: a transferred Float64Array, RECORD_LENGTH numbers per path),
// or {error}.
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { IgnoreList } from '../../fs/ignore';
import { UserError } from '../../log';
import { recordOf, type StatRecord } from './stat-record';
import { walkTree, type WalkCounters } from './tree-walk';

const RECORD_LENGTH = 9;

/**
 * Paths the last walk saw before a parallel one pays. Measured in builds here (2 cores): at
 * 20,000 a worker's boot and the copying cost more than they save (~0.1 s walks); at 100,000
 * workers save ~0.2 s.
 */
export const PARALLEL_MIN_PATHS = 50000;

/**
 * Walkers, this thread included: a worker per core (up to 4) and this thread, which merges what
 * they send and walks between (measured on 2 cores, 100,000 paths: ~15% less time with 1 worker,
 * ~30% with 2); none on one core. DRYDOCK_SNAPSHOT_WALKERS=N says otherwise (1: no workers).
 */
export function walkersAvailable(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.DRYDOCK_SNAPSHOT_WALKERS);
  if (Number.isInteger(asked) && asked >= 1) return Math.min(asked, 16);
  const cores = availableParallelism();
  return cores > 1 ? Math.min(cores, 4) + 1 : 1;
}

type ToWorker = { root: string; skip: string[] } | { units: string[] };
type FromWorker = { units: string[]; counts: number[]; rels: string[]; recs: Float64Array; lstat: number; readdir: number } | { error: string };

/** The worker's side: walk each batch of units posted, after a {root, skip} that says where. */
export function runWalker(port: MessagePort): void {
  let root = '/';
  let skip = new IgnoreList();
  port.on('message', (m: ToWorker) => {
    if ('root' in m) {
      root = m.root;
      skip = new IgnoreList(m.skip);
      return;
    }
    const rels: string[] = [];
    const nums: number[] = [];
    const counts: number[] = [];
    const counters: WalkCounters = { lstat: 0, readdir: 0 };
    const add = (rel: string, st: fs.Stats) => {
      rels.push(rel);
      nums.push(...recordOf(st));
    };
    (async () => {
      // each unit itself was stat'ed by whoever listed its parent; what is below it is ours
      for (const unit of m.units) {
        const before = rels.length;
        await walkTree(root, unit, skip, add, counters);
        counts.push(rels.length - before);
      }
    })().then(() => {
      const recs = Float64Array.from(nums);
      port.postMessage({ units: m.units, counts, rels, recs, lstat: counters.lstat, readdir: counters.readdir } satisfies FromWorker, [recs.buffer]);
    }, (e: unknown) => port.postMessage({ error: (e as Error).message } satisfies FromWorker));
  });
}

const workers: Worker[] = [];
const forget = (w: Worker) => {
  const i = workers.indexOf(w);
  if (i >= 0) workers.splice(i, 1);
};

function walkers(n: number): Worker[] {
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  while (workers.length < n) {
    // compiled to CommonJS next to this file; idle, it does not keep the process alive
    const w = new Worker(path.join(__dirname, 'walk-thread.js'), { stdout: false, stderr: false });
    w.unref();
    w.on('error', () => undefined); // reported to a walk by its 'exit'
    w.on('exit', () => forget(w));
    workers.push(w);
  }
  return workers.slice(0, n);
}

/** Boot the workers of a walk on `n` threads to come (~40 ms each), e.g. while the RUN before it runs. */
export function prestartWalkers(n: number): void {
  walkers(n - 1);
}

export interface ParallelWalkOptions {
  /** how many walk, this thread included (default: walkersAvailable()) */
  parallel?: number;
  /** paths below each unit in the last walk (updated by this one): what to split and what first */
  unitSizes: Map<string, number>;
  /** directories this thread lists itself rather than hand out (updated by this one) */
  splitDirs: Set<string>;
}

/** How deep planUnits looks for directories to split (it counts paths for each: a cost per level). */
const PLAN_DEPTH = 4;
/** How deep a walk's own unit sizes may split directories further. */
const SPLIT_DEPTH = 8;

/**
 * Learn from a walk's paths (one thread's, so no unit sizes yet) how to split the next: the
 * directories, up to PLAN_DEPTH deep, that hold more than a quarter of a walker's share become
 * split directories, and the others' sizes order the units. One pass over the paths (~20 ms at
 * 100,000). Without it the first parallel walk of an image whose files sit in one directory
 * (an app's /app or /data) would hand all of it to one walker.
 */
export function planUnits(paths: Iterable<string>, total: number, n: number, o: Pick<ParallelWalkOptions, 'unitSizes' | 'splitDirs'>): void {
  const below = new Map<string, number>();
  for (const p of paths) {
    for (let i = p.indexOf('/'), depth = 1; i > 0 && depth <= PLAN_DEPTH; i = p.indexOf('/', i + 1), depth++) {
      const dir = p.slice(0, i);
      below.set(dir, (below.get(dir) ?? 0) + 1);
    }
  }
  const share = Math.max(1000, total / (4 * n));
  o.unitSizes.clear();
  o.splitDirs.clear();
  // a parent comes before its children in the map: whether it is split is known by then
  for (const [dir, count] of below) {
    const slash = dir.lastIndexOf('/');
    if (slash > 0 && !o.splitDirs.has(dir.slice(0, slash))) continue; // inside a unit
    if (count > share && dir.split('/').length < PLAN_DEPTH) o.splitDirs.add(dir);
    else o.unitSizes.set(dir, count);
  }
}

/** Everything below `hostDir` (as walkTree from the root visits it), walked by this thread and workers. */
export async function parallelWalk(hostDir: string, skip: IgnoreList, counters: WalkCounters, o: ParallelWalkOptions): Promise<Map<string, StatRecord>> {
  const state = new Map<string, StatRecord>();
  const units: string[] = [];
  // this thread's part: the root and the split directories, listed one level at a time
  const expand = [''];
  while (expand.length > 0) {
    const dir = expand.pop()!;
    const listed: string[] = [];
    await walkTree(hostDir, dir, skip, (rel, st) => {
      // one level only: what lies below a directory is the unit's or the next expansion's
      state.set(rel, recordOf(st));
      if (st.isDirectory()) listed.push(rel);
    }, counters, { depth: 1 });
    for (const d of listed) (o.splitDirs.has(d) ? expand : units).push(d);
  }
  const n = Math.max(1, Math.min(o.parallel ?? walkersAvailable(), units.length));
  const total = [...o.unitSizes.values()].reduce((a, b) => a + b, 0);
  units.sort((a, b) => (o.unitSizes.get(b) ?? 0) - (o.unitSizes.get(a) ?? 0));
  const sizes = await walkUnits(hostDir, skip, counters, state, units, n, (u) => o.unitSizes.get(u) ?? 1);
  // next time: split what held more than its share (a quarter of a worker's part), keep the rest
  const share = Math.max(1000, (total || state.size) / (4 * n));
  o.unitSizes.clear();
  for (const [unit, size] of sizes) {
    if (size > share && unit.split('/').length < SPLIT_DEPTH) o.splitDirs.add(unit);
    else o.unitSizes.set(unit, size);
  }
  return state;
}

/**
 * Walk every unit (a directory seen but not listed yet) to the bottom, into `state`, on `n`
 * threads: this one and n - 1 workers taking units in order, a batch at a time (one message per
 * unit would cost more than a small unit's walk): each batch about a quarter of a walker's share
 * of what is left (guided self-scheduling), by `weight` (the paths a unit held last time, or 1).
 * Returns how many paths each unit held.
 */
export async function walkUnits(
  hostDir: string, skip: IgnoreList, counters: WalkCounters, state: Map<string, StatRecord>, units: string[], n: number,
  weight: (unit: string) => number = () => 1,
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let left = units.reduce((a, u) => a + weight(u), 0);
  const batch = (): string[] => {
    const out: string[] = [];
    const want = Math.max(1, left / (4 * n));
    let got = 0;
    while (units.length > 0 && (out.length === 0 || got < want)) {
      const u = units.shift()!;
      out.push(u);
      got += weight(u);
    }
    left -= got;
    return out;
  };
  // this thread is one of the n walkers: n - 1 workers
  const pool = walkers(n - 1);
  const rootMsg: ToWorker = { root: hostDir, skip: skip.paths };
  let failure: Error | undefined;
  const workersDone = new Promise<void>((resolve, reject) => {
    let busy = 0;
    const next = (w: Worker) => {
      const b = batch();
      if (b.length === 0) {
        if (busy === 0) resolve();
        return;
      }
      busy++;
      w.postMessage({ units: b } satisfies ToWorker);
    };
    const fail = (e: Error) => {
      if (failure) return;
      failure = e;
      // the others may still be walking: never hand their late answers to the next walk
      for (const w of pool) {
        w.removeAllListeners('message');
        void w.terminate();
      }
      reject(e);
    };
    for (const w of pool) {
      w.ref();
      w.postMessage(rootMsg);
      w.on('message', (m: FromWorker) => {
        busy--;
        if ('error' in m) return fail(new UserError(m.error));
        const recs = m.recs;
        for (let i = 0; i < m.rels.length; i++) {
          const k = i * RECORD_LENGTH;
          state.set(m.rels[i], [recs[k], recs[k + 1], recs[k + 2], recs[k + 3], recs[k + 4], recs[k + 5], recs[k + 6], recs[k + 7], recs[k + 8]] as StatRecord);
        }
        counters.lstat += m.lstat;
        counters.readdir += m.readdir;
        m.units.forEach((u, i) => sizes.set(u, m.counts[i]));
        next(w);
      });
      w.once('exit', (code) => fail(new Error(`snapshot: a walker thread ended (exit code ${code})`)));
      next(w);
    }
    if (pool.length === 0) resolve();
  });
  workersDone.catch(() => undefined); // awaited below, after this thread's own share
  try {
    // this thread's share: a batch at a time, letting the workers' answers in between
    for (let b = batch(); b.length > 0 && !failure; b = batch()) {
      for (const unit of b) {
        let count = 0;
        await walkTree(hostDir, unit, skip, (rel, st) => { state.set(rel, recordOf(st)); count++; }, counters);
        sizes.set(unit, count);
      }
      await new Promise((r) => setImmediate(r));
    }
    await workersDone;
  } finally {
    for (const w of pool) {
      w.removeAllListeners('message');
      w.removeAllListeners('exit');
      w.on('exit', () => forget(w));
      w.unref();
    }
  }
  return sizes;
}
