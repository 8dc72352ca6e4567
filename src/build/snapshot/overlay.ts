// The snapshotter whose cost follows the change: the RUN executes in an overlay mount
// (lower = the rootfs, upper = an empty directory), so afterwards the upper directory holds
// exactly what the step changed. finish() translates it into layer entries, then moves it onto
// the rootfs (rename, so a 200 MB file costs nothing) and the next begin() mounts afresh.
//
// How it composes with the chroot isolation: the builder calls begin(), then runs the step with
// `rootfs: snapshotter.runRoot()` (the merged mount). The isolation's private mount namespace is
// created after the overlay was mounted in ours, so it sees the merged tree, mounts /proc, /sys,
// /dev on top of it privately, and chroots there; its resolv.conf/hosts/hostname land in the
// upper directory and are skipped as transient paths. Overlay needs CAP_SYS_ADMIN, which also
// gives the isolation its mount namespace, so the two always come together; with
// --isolation=none (the root is `/`) only the stat walk applies.
//
// Translating overlay's own markers without reading xattrs (Node has no xattr API and getfattr
// is often absent): a whiteout is a 0/0 character device; an opaque directory (the step removed
// a directory and made a new one) carries the `trusted.overlay.opaque` xattr, which we infer
// instead: a directory of the upper that also exists in the lower is opaque when some name of
// the lower directory has no entry in the upper one and is not visible in the merged view. That
// costs one readdir of that lower directory, only for directories the step touched.
// The mount forces redirect_dir=off and metacopy=off, so a renamed directory is a copy and every
// changed file holds its full content in the upper directory.
//
// Why `volatile` (Linux >= 5.10): without it, unmounting an overlay calls syncfs on the upper
// filesystem, which flushes every dirty page of that whole filesystem, e.g. the 20,000 files a
// COPY just wrote into the rootfs (measured: a RUN touching one file after such a COPY took
// 0.8 s instead of 0.1 s). A build's rootfs is disposable, so the upper directory's durability is
// worth nothing to us. The kernel refuses to reuse a workdir a volatile mount left behind
// (work/incompat/volatile): we remove the whole workdir before every mount anyway.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { IgnoreList, LayerEntry } from '../../fs';
import { UserError } from '../../log';
import { hostProgram } from '../isolation/host-tools';
import { byPath, Changed, entriesFor } from './entry-builder';
import { recordOf, StatRecord } from './stat-record';
import { walkTree } from './tree-walk';
import type { Snapshotter, SnapshotterOptions } from './types';

const FULL_OPTS = ',redirect_dir=off,metacopy=off,index=off';
const VOLATILE = ',volatile';

/** Whether this kernel accepts `volatile`: learned by the first mount that tries it (probe or begin). */
let volatileAccepted: boolean | undefined;

/** The option sets to try, best first; one that this kernel is known to refuse is left out. */
function optionSets(): string[] {
  return volatileAccepted === false ? [FULL_OPTS, ''] : [FULL_OPTS + VOLATILE, FULL_OPTS, VOLATILE, ''];
}

/** Remember what a successful mount with `extra` options told us about `volatile`. */
function learnFrom(extra: string, triedVolatileFirst: boolean): void {
  if (extra.includes(VOLATILE)) volatileAccepted = true;
  else if (triedVolatileFirst) volatileAccepted = false;
}

export interface OverlayOptions extends SnapshotterOptions {
  /** scratch directory on the same filesystem as root (default: `<root>.overlay` beside it) */
  scratch?: string;
}

function mountOverlay(lower: string, upper: string, work: string, merged: string, extra: string): { ok: boolean; err: string } {
  const mount = hostProgram('mount') ?? 'mount';
  const r = spawnSync(mount, ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}${extra}`, merged], { encoding: 'utf8', timeout: 10000 });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() };
}

function umount(dir: string): void {
  const bin = hostProgram('umount') ?? 'umount';
  if (spawnSync(bin, [dir], { stdio: 'ignore' }).status !== 0) spawnSync(bin, ['-l', dir], { stdio: 'ignore' });
}

/** Probe outcomes by the filesystem (device) the upper and work directories would be on. */
const probed = new Map<number, string | null>();
const probing = new Map<number, Promise<string | null>>();

interface ProbeRun { status: number | null; stderr: string; error?: string }

/**
 * Can an overlay be mounted with upper/work directories in `scratchParent` (over a lower there)?
 * Tried once per filesystem, in a private mount namespace when possible so nothing can leak.
 * Returns null when it can, else why not (for the build log).
 */
export function overlayUnavailableReason(scratchParent: string): string | null {
  const where = probeTarget(scratchParent);
  if (typeof where === 'string') return where;
  if (probed.has(where.dev)) return probed.get(where.dev)!;
  const probe = overlayProbe(where.dir);
  let step = probe.next();
  while (!step.done) {
    const r = spawnSync(step.value[0], step.value.slice(1), { encoding: 'utf8', timeout: 10000 });
    step = probe.next({ status: r.status, stderr: r.stderr ?? '', error: r.error?.message });
  }
  probed.set(where.dev, step.value);
  return step.value;
}

/** overlayUnavailableReason() with the mounts tried by child processes that do not block this thread. */
export function probeOverlay(scratchParent: string): Promise<string | null> {
  const where = probeTarget(scratchParent);
  if (typeof where === 'string') return Promise.resolve(where);
  if (probed.has(where.dev)) return Promise.resolve(probed.get(where.dev)!);
  let p = probing.get(where.dev);
  if (!p) {
    p = (async () => {
      const probe = overlayProbe(where.dir);
      let step = probe.next();
      while (!step.done) {
        const argv = step.value;
        const r = await new Promise<ProbeRun>((resolve) => execFile(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10000 },
          (err, _stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr: stderr ?? '', error: err && typeof err.code !== 'number' ? err.message : undefined })));
        step = probe.next(r);
      }
      probed.set(where.dev, step.value);
      return step.value;
    })();
    probing.set(where.dev, p);
  }
  return p;
}

function probeTarget(scratchParent: string): { dir: string; dev: number } | string {
  const dir = path.resolve(scratchParent);
  try {
    fs.mkdirSync(dir, { recursive: true });
    return { dir, dev: fs.statSync(dir).dev };
  } catch (e) {
    return `cannot prepare an overlay probe in ${dir}: ${(e as Error).message}`;
  }
}

/**
 * The probe as steps, so that one text serves a blocking and a non-blocking caller: yields each
 * mount command to try, is told how it went, and returns the answer.
 */
function* overlayProbe(key: string): Generator<string[], string | null, ProbeRun> {
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(key, '.drydock-overlay-probe-'));
    for (const d of ['l', 'u', 'w', 'm']) fs.mkdirSync(path.join(dir, d));
    const unshare = hostProgram('unshare');
    const mount = hostProgram('mount');
    if (!mount) return 'no mount program';
    let reason = 'no option set tried';
    // a volatile mount also keeps the probe's unmount (the namespace's end) from flushing the filesystem
    const sets = optionSets();
    for (const extra of sets.filter((o) => o.startsWith(FULL_OPTS))) {
      for (const d of ['u', 'w']) {
        fs.rmSync(path.join(dir, d), { recursive: true, force: true });
        fs.mkdirSync(path.join(dir, d));
      }
      const o = `lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w${extra}`;
      const r: ProbeRun = yield unshare ? [unshare, '--mount', '--propagation', 'private', '--', mount, '-t', 'overlay', 'overlay', '-o', o, `${dir}/m`]
        : [mount, '-t', 'overlay', 'overlay', '-o', o, `${dir}/m`];
      if (r.status === 0) {
        if (!unshare) umount(`${dir}/m`);
        learnFrom(extra, sets[0].includes(VOLATILE));
        return null;
      }
      reason = `mount -t overlay in ${key} failed: ${(r.stderr || r.error || `exit ${r.status}`).trim()}`;
    }
    return reason;
  } catch (e) {
    return `cannot prepare an overlay probe in ${key}: ${(e as Error).message}`;
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const parentOf = (rel: string) => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};

// per-path calls below are synchronous: a promise per syscall costs more than the syscall, and
// nothing else runs while a snapshot is taken
function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

interface UpperItem {
  rel: string;
  st: fs.Stats;
}

export class OverlaySnapshotter implements Snapshotter {
  readonly name = 'overlay' as const;
  readonly counters = { lstat: 0, readdir: 0 };
  private readonly root: string;
  private readonly scratch: string;
  private mounted = false;

  constructor(private readonly opts: OverlayOptions) {
    this.root = path.resolve(opts.root);
    this.scratch = path.resolve(opts.scratch ?? this.root + '.overlay');
  }

  private get upper() { return path.join(this.scratch, 'upper'); }
  private get work() { return path.join(this.scratch, 'work'); }
  private get merged() { return path.join(this.scratch, 'merged'); }

  runRoot(): string {
    return this.merged;
  }

  async begin(): Promise<void> {
    if (this.mounted) return;
    await fsp.rm(this.upper, { recursive: true, force: true });
    await fsp.rm(this.work, { recursive: true, force: true });
    for (const d of [this.upper, this.work, this.merged]) await fsp.mkdir(d, { recursive: true });
    const sets = optionSets();
    let r = { ok: false, err: 'no option set tried' };
    for (const extra of sets) {
      r = mountOverlay(this.root, this.upper, this.work, this.merged, extra);
      if (r.ok) {
        learnFrom(extra, sets[0].includes(VOLATILE));
        break;
      }
      // a failed mount may leave the workdir half made: start the next try from an empty one
      await fsp.rm(this.work, { recursive: true, force: true });
      await fsp.mkdir(this.work);
    }
    if (!r.ok) throw new UserError(`snapshot: cannot mount an overlay over ${this.root} at ${this.merged}: ${r.err}`);
    this.mounted = true;
  }

  async finish(): Promise<LayerEntry[]> {
    if (!this.mounted) throw new Error('snapshot: finish() without begin()');
    let items: UpperItem[];
    let opaque: Set<string>;
    try {
      ({ items, opaque } = await this.readUpper());
    } finally {
      umount(this.merged);
      this.mounted = false;
    }
    const { changes, special } = await this.translate(items, opaque);
    await this.apply(items, opaque, special);
    const entries = await entriesFor(this.root, changes);
    await fsp.rm(this.upper, { recursive: true, force: true });
    await fsp.rm(this.work, { recursive: true, force: true });
    return [...special, ...entries].sort(byPath);
  }

  async addKnownChanges(): Promise<void> {
    /* nothing remembered: every step starts from an empty upper directory */
  }

  invalidate(): void {
    /* nothing remembered */
  }

  /** Everything in the upper dir (minus skipped paths) and which of its dirs are opaque. */
  private async readUpper(): Promise<{ items: UpperItem[]; opaque: Set<string> }> {
    // transient files (resolv.conf, ...) are neither reported nor kept; ignored paths are kept in
    // the rootfs (the step wrote them) but never reported, as kaniko's --ignore-path
    const skip = new IgnoreList(this.opts.transient?.() ?? []);
    const items: UpperItem[] = [];
    await walkTree(this.upper, '', skip, (rel, st) => items.push({ rel, st }), this.counters);
    items.sort((a, b) => byPath({ path: a.rel }, { path: b.rel }));
    const namesIn = new Map<string, Set<string>>();
    for (const it of items) {
      const p = parentOf(it.rel);
      if (!namesIn.has(p)) namesIn.set(p, new Set());
      namesIn.get(p)!.add(it.rel.slice(p === '' ? 0 : p.length + 1));
    }
    const opaque = new Set<string>();
    for (const it of items) {
      if (!it.st.isDirectory()) continue;
      this.counters.lstat++;
      const lower = lstatOrNull(path.join(this.root, it.rel));
      if (!lower?.isDirectory()) continue;
      if (await this.hidesLowerChildren(it.rel, namesIn.get(it.rel) ?? new Set())) opaque.add(it.rel);
    }
    return { items, opaque };
  }

  private async hidesLowerChildren(rel: string, upperNames: Set<string>): Promise<boolean> {
    this.counters.readdir++;
    const lowerNames = fs.readdirSync(path.join(this.root, rel));
    const hiddenCandidate = lowerNames.find((n) => !upperNames.has(n));
    if (hiddenCandidate === undefined) return false; // every lower name is covered: opaque or not, same tree
    this.counters.lstat++;
    return lstatOrNull(path.join(this.merged, rel, hiddenCandidate)) === null;
  }

  private async translate(items: UpperItem[], opaque: Set<string>): Promise<{ changes: Changed[]; special: LayerEntry[] }> {
    const changes: Changed[] = [];
    const special: LayerEntry[] = [];
    const mark = (p: string, type: 'whiteout' | 'opaque') => special.push({ path: p, type, mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
    const ignore = new IgnoreList(this.opts.ignore ?? []);
    for (const { rel, st } of items) {
      if (ignore.size > 0 && ignore.ignores('/' + rel)) continue;
      if (st.isCharacterDevice() && st.rdev === 0) {
        mark(rel, 'whiteout');
        continue;
      }
      const rec: StatRecord = recordOf(st);
      if (st.isDirectory()) {
        if (opaque.has(rel)) {
          mark(rel, 'opaque');
          changes.push({ rel, rec });
          continue;
        }
        this.counters.lstat++;
        const lower = lstatOrNull(path.join(this.root, rel));
        if (lower?.isDirectory()) {
          // copied up only because something below changed: report it only if its own metadata did
          const l = recordOf(lower);
          if (l[3] === rec[3] && l[4] === rec[4] && l[5] === rec[5] && l[6] === rec[6]) continue;
        } else if (lower) {
          mark(rel, 'whiteout'); // a file became a directory: delete the file in the lower layers
        }
        changes.push({ rel, rec });
        continue;
      }
      this.counters.lstat++;
      const lower = lstatOrNull(path.join(this.root, rel));
      if (lower?.isDirectory()) mark(rel, 'whiteout'); // a directory became a file
      changes.push({ rel, rec });
    }
    return { changes, special };
  }

  /** Move the upper directory's content onto the rootfs: it becomes the lower of the next step. */
  private async apply(items: UpperItem[], opaque: Set<string>, special: LayerEntry[]): Promise<void> {
    const dirs: UpperItem[] = [];
    for (const w of special) if (w.type === 'whiteout') fs.rmSync(path.join(this.root, w.path), { recursive: true, force: true });
    for (const it of items) {
      const dst = path.join(this.root, it.rel);
      if (it.st.isCharacterDevice() && it.st.rdev === 0) {
        fs.rmSync(dst, { recursive: true, force: true }); // (already done unless ignored)
        continue;
      }
      if (it.st.isDirectory()) {
        if (opaque.has(it.rel)) fs.rmSync(dst, { recursive: true, force: true });
        const cur = lstatOrNull(dst);
        if (cur && !cur.isDirectory()) fs.rmSync(dst, { force: true });
        if (!cur || !cur.isDirectory() || opaque.has(it.rel)) fs.mkdirSync(dst);
        dirs.push(it);
        continue;
      }
      const cur = lstatOrNull(dst);
      if (cur?.isDirectory()) fs.rmSync(dst, { recursive: true, force: true });
      try {
        fs.renameSync(path.join(this.upper, it.rel), dst);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        fs.cpSync(path.join(this.upper, it.rel), dst, { preserveTimestamps: true, verbatimSymlinks: true, force: true });
      }
    }
    // directory metadata last and deepest first: adding their entries moved their mtimes
    for (const it of dirs.reverse()) {
      const dst = path.join(this.root, it.rel);
      fs.chownSync(dst, it.st.uid, it.st.gid);
      fs.chmodSync(dst, it.st.mode & 0o7777);
      fs.utimesSync(dst, it.st.atime, it.st.mtime);
    }
  }
}

