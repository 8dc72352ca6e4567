// One stage of a build: its image under construction, its variables, and (only when some
// instruction needs the files) its root filesystem on disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandWord, expandWords, lexWord } from '../dockerfile/expand';
import type { EscapeChar, Instruction } from '../dockerfile/types';
import { extractLayer, type ExtractOptions } from '../fs/extract';
import { hostPathInRoot, resolveInRootSync } from '../fs/in-root';
import { failedWithExtraction, layerWeight, prestartExtractionWorker, startTapExtraction, WORKER_MIN_ENTRIES } from '../fs/extract-worker';
import type { LayerEntry } from '../fs/types';
import { IgnoreList } from '../fs/ignore';
import { writeLayer } from '../fs/layer-writer';
import type { ManyEntriesHint } from '../fs/walk';
import { appendHistory, appendLayer, type Image, type Layer } from '../image/image';
import { layerMediaType } from '../image/mediatypes';
import type { Platform } from '../image/platform';
import type { HistoryEntry } from '../image/config';
import { log } from '../log';
import type { BlobStore } from './blob-store';
import type { BuildOptions } from './options';
import { ArgScope, envLookup } from './variables';
import type { Isolation } from './isolation';
import { checkedAgainstDiffId } from './base-image';
import { extractionTools } from './isolation/host-tools';
import { selectSnapshotter, type Snapshotter } from './snapshot';
import { PathIndex } from './path-index';
import { layerFromCache, layerToCache, type StepCache } from './cache';

export interface StageEnv {
  opts: BuildOptions;
  blobs: BlobStore;
  workDir: string;
  platform: Platform;
  file: string;
  escape: EscapeChar;
  /** created time for history and config (fixed when reproducible) */
  created: string;
  /** the RUN runner, chosen on first use (selection fails where RUN is impossible) */
  /** the build's isolation, chosen once (its probes start with the build) */
  isolation: () => Promise<Isolation>;
  /** how new layers are compressed (see layerCompressionFor) */
  compression: 'gzip' | 'none';
  /**
   * What each layer unpacked in this build held (by blob digest): a stage that never unpacks its
   * base answers "is this a directory?" from it instead of reading the same layer again.
   */
  layerPaths?: Map<string, LayerPaths>;
}

export type LayerPaths = Array<Pick<LayerEntry, 'path' | 'type' | 'linkname'>>;

/** A stage whose root is the host's `/` (--isolation=none, the kaniko way), with what to spare. */
export interface HostRoot {
  ignore: string[];
}

let layerSeq = 0;

/** The snapshotter of a filesOnly stage: RUN changes the root in place and nothing is taken. */
const NO_SNAPSHOT: Snapshotter = {
  name: 'stat-walk',
  begin: async () => undefined,
  runRoot: () => { throw new Error('a filesOnly stage runs RUN in its root'); },
  finish: async () => [],
  addKnownChanges: async () => undefined,
  invalidate: () => undefined,
  counters: { lstat: 0, readdir: 0 },
};


export class StageBuilder {
  image: Image;
  readonly args: ArgScope;
  /** directory of the materialized root, once some instruction needed the files */
  private root?: string;
  /** how many of image.layers are applied to `root` */
  private applied = 0;
  private snap?: Snapshotter;
  /** the build's layer cache (undefined: no cache) and the key chain of this stage's steps */
  steps?: StepCache;
  cacheKey = '';
  pendingCacheKey?: string;
  /** the paths of the layers so far, for stages that never unpack (see isDir) */
  private pathIndex?: PathIndex;
  /** entries unpacked into the root so far: about the paths it holds (for the snapshotter) */
  private unpackedEntries = 0;
  private indexed = 0;
  /** --single-snapshot: the one snapshot of this stage, started with its first change */
  private single?: { snap: Snapshotter; changed: boolean };
  /**
   * Nothing uses this stage's image, only its files (set by the build when there is no layer
   * cache): once the root is unpacked, COPY/ADD only apply to it and RUN changes it in place.
   */
  filesOnly = false;

  constructor(
    readonly index: number,
    readonly name: string | undefined,
    base: Image,
    readonly env: StageEnv,
    globals: ArgScope,
    automaticArgs: Record<string, string>,
    readonly hostRoot?: HostRoot,
    /** the stage has RUN steps: its root will be unpacked anyway, so use it from the start */
    readonly runsCommands = true,
  ) {
    this.image = base;
    this.args = new ArgScope(env.opts.buildArgs, automaticArgs, globals);
  }

  /** The variable lookup for expansion: ENV wins over ARG (Docker's rule). */
  lookup = (name: string): string | undefined => {
    const e = envLookup(this.image.config.config?.Env).get(name);
    return e !== undefined ? e : this.args.get(name);
  };

  expand(word: string): string {
    return expandWord(word, this.lookup, this.env.escape);
  }

  /** Heredoc bodies expand variables but keep quotes and escapes as written (BuildKit). */
  expandHeredoc(text: string): string {
    return lexWord(text, { escape: this.env.escape, lookup: this.lookup, skipQuotes: true, rawEscapes: true }).word;
  }

  expandAll(text: string): string[] {
    return expandWords(text, this.lookup, this.env.escape);
  }

  where(instr: Pick<Instruction, 'line'>): string {
    return `${this.env.file}:${instr.line}`;
  }

  history(instr: Instruction): HistoryEntry {
    return { created: this.env.created, created_by: instr.text, comment: 'drydock' };
  }

  /**
   * Record an instruction that changed only the config: a history entry without a layer, or with
   * --force-build-metadata an empty layer, as kaniko gives it then (one stage layer holds all with
   * --single-snapshot).
   */
  async noLayer(instr: Instruction): Promise<void> {
    if (this.env.opts.forceBuildMetadata && !this.env.opts.singleSnapshot) {
      await this.addLayer([], instr);
      return;
    }
    this.image = appendHistory(this.image, this.history(instr));
  }

  /**
   * Write `entries` as a new layer on top of the image. `inRoot`: the entries are already in the
   * root (a RUN's snapshot); otherwise a materialized root gets them applied now.
   */
  async addLayer(entries: LayerEntry[], instr: Instruction, inRoot = false): Promise<Layer | undefined> {
    if (this.filesOnly && (inRoot || this.root !== undefined)) return this.changeFilesOnly(entries, instr, inRoot);
    if (this.env.opts.singleSnapshot) return this.changeInSingleSnapshot(entries, instr, inRoot);
    const cached = await layerFromCache(this, instr, entries);
    if (cached) return this.appendCached(cached, instr, entries);
    const layer = await this.appendLayer(entries, this.history(instr), inRoot);
    layerToCache(this, instr, layer);
    return layer;
  }

  /**
   * Put a layer from the cache on top of the image. A materialized root gets it now when `entries`
   * (a COPY's plan) tell the snapshotter what changed; otherwise rootfs() applies it when needed.
   */
  async appendCached(layer: Layer, instr: Instruction, entries?: LayerEntry[]): Promise<Layer> {
    this.image = appendLayer(this.image, layer, this.history(instr));
    if (entries && this.root && this.applied === this.image.layers.length - 1) {
      this.unpackedEntries += (await extractLayer(await layer.open(), this.root, { ...this.extractOptions(), ...checkedAgainstDiffId(layer) })).files;
      this.applied++;
      await this.snap?.addKnownChanges(entries.map((e) => '/' + e.path));
    }
    return layer;
  }

  /**
   * For a COPY's walk: once a source turns out big enough that its layer will be applied to the
   * materialized root in a worker, boot that worker while the walk goes on.
   */
  manyEntriesHint(): ManyEntriesHint | undefined {
    if (this.root === undefined) return undefined;
    return { count: WORKER_MIN_ENTRIES, call: prestartExtractionWorker };
  }

  private async appendLayer(entries: LayerEntry[], history: HistoryEntry, inRoot: boolean): Promise<Layer> {
    const tmp = path.join(this.env.workDir, `layer-${process.pid}-${++layerSeq}.tmp`);
    const t0 = Date.now();
    // a materialized root gets the entries in the same pass that writes the layer: the tar
    // stream is extracted as it is made (no second read, no gunzip)
    const applyNow = !inRoot && this.root !== undefined && this.applied === this.image.layers.length;
    const applying = applyNow ? startTapExtraction(this.root!, this.extractOptions(), layerWeight(entries)) : undefined;
    const w = await writeLayer(entries, tmp, {
      compression: this.env.compression,
      level: this.env.opts.compressionLevel,
      reproducible: this.env.opts.reproducible,
      preciseMtime: false, // whole seconds, as Docker, kaniko and Go's tar write them
      sourceDateEpoch: this.env.opts.sourceDateEpoch,
      tap: applying?.tap,
      tapCopies: applying?.copiesChunks,
    }).catch(failedWithExtraction(applying));
    if (applying) this.unpackedEntries += (await applying.done).files;
    const file = await this.env.blobs.adopt(tmp, w.digest);
    const layer: Layer = {
      descriptor: { mediaType: layerMediaType(this.image.manifestMediaType, this.env.compression), digest: w.digest, size: w.size },
      diffId: w.diffId,
      localFile: file,
      open: async () => fs.createReadStream(file),
    };
    log.debug(`layer ${w.digest.slice(7, 19)}: ${entries.length} entries, ${w.size} bytes in ${Date.now() - t0} ms`);
    this.image = appendLayer(this.image, layer, history);
    if (this.pathIndex && this.indexed === this.image.layers.length - 1) {
      this.pathIndex.addEntries(entries);
      this.indexed++;
    }
    if (inRoot) this.applied++;
    else if (applyNow) {
      this.applied++;
      await this.snap?.addKnownChanges(entries.map((e) => '/' + e.path));
    }
    return layer;
  }

  /**
   * --single-snapshot: COPY/ADD apply to the root without a layer, RUN changes it in place, and
   * finishStage() makes one layer of everything against the base (kaniko's semantics).
   */
  private async changeInSingleSnapshot(entries: LayerEntry[], instr: Instruction, inRoot: boolean): Promise<undefined> {
    if (!inRoot) {
      await this.startSingleSnapshot();
      await this.applyToRoot(entries);
    }
    this.single!.changed = true;
    this.image = appendHistory(this.image, this.history(instr));
    return undefined;
  }

  /** A filesOnly stage: the change goes into the root, and only the history records it. */
  private async changeFilesOnly(entries: LayerEntry[], instr: Instruction, inRoot: boolean): Promise<undefined> {
    if (!inRoot) await this.applyToRoot(entries);
    this.image = appendHistory(this.image, this.history(instr));
    return undefined;
  }

  /** Apply entries to the root without keeping a layer (the tar only streams into the root). */
  private async applyToRoot(entries: LayerEntry[]): Promise<void> {
    const applying = startTapExtraction(await this.rootfs(), this.extractOptions(), layerWeight(entries));
    await writeLayer(entries, null, { compression: 'none', preciseMtime: false, tap: applying.tap, tapCopies: applying.copiesChunks }).catch(failedWithExtraction(applying));
    this.unpackedEntries += (await applying.done).files;
  }

  private async startSingleSnapshot(): Promise<Snapshotter> {
    if (!this.single) {
      const root = await this.rootfs();
      const { snapshotter } = await selectSnapshotter({ ...this.snapshotOptions(root, await this.env.isolation()), isolation: 'none', prefer: 'stat-walk' });
      await snapshotter.begin();
      this.single = { snap: snapshotter, changed: false };
    }
    return this.single.snap;
  }

  /** Close the stage: with --single-snapshot, its one layer. */
  async finishStage(): Promise<void> {
    if (!this.single?.changed) return;
    const entries = await this.single.snap.finish();
    this.single = undefined;
    await this.appendLayer(entries, { created: this.env.created, created_by: 'single snapshot (--single-snapshot)', comment: 'drydock' }, true);
  }

  private snapshotOptions(root: string, isolation: Isolation) {
    return {
      root,
      ignore: [...(this.hostRoot?.ignore ?? []), ...this.env.opts.ignorePaths],
      transient: () => isolation.transientPaths(),
      sizeHint: () => this.unpackedEntries,
    };
  }

  private extractOptions(): ExtractOptions {
    const tools = extractionTools();
    return this.hostRoot ? { ignore: new IgnoreList(this.hostRoot.ignore), ...tools } : tools;
  }

  /**
   * The snapshotter around one RUN, created with the first RUN. With --single-snapshot the stage's
   * one snapshot is used and `perStep` is false: the RUN must not begin/finish it.
   */
  async snapshotter(): Promise<{ snap: Snapshotter; perStep: boolean }> {
    if (this.filesOnly) return { snap: NO_SNAPSHOT, perStep: false };
    if (this.env.opts.singleSnapshot) return { snap: await this.startSingleSnapshot(), perStep: false };
    if (!this.snap) {
      const root = await this.rootfs();
      const isolation = await this.env.isolation();
      const { snapshotter, why } = await selectSnapshotter({ ...this.snapshotOptions(root, isolation), isolation: isolation.name });
      log.debug(`stage ${this.name ?? this.index}: ${why}`);
      this.snap = snapshotter;
    } else {
      await this.rootfs();
    }
    return { snap: this.snap, perStep: true };
  }

  /**
   * The stage's files on disk, with every layer so far applied. Base layers download in
   * parallel; extraction is in order (later layers' whiteouts apply to earlier ones).
   */
  async rootfs(): Promise<string> {
    if (!this.root) {
      this.root = this.hostRoot ? '/' : path.join(this.env.workDir, `stage-${this.index}`, 'rootfs');
      await fs.promises.mkdir(this.root, { recursive: true });
    }
    const pending = this.image.layers.slice(this.applied);
    if (pending.length === 0) return this.root;
    const t0 = Date.now();
    // the first layer unpacks while it downloads; the others download meanwhile, in parallel
    for (const l of pending.slice(1)) l.prefetch?.().catch(() => undefined);
    for (const layer of pending) {
      // what the layer held, for other stages' isDir (not for --isolation=none: its ignore list
      // leaves paths out)
      const seen: LayerPaths | undefined = this.env.layerPaths && !this.hostRoot ? [] : undefined;
      const onEntry = seen ? (p: string, type: LayerEntry['type'], linkname?: string) => { seen.push({ path: p, type, linkname }); } : undefined;
      this.unpackedEntries += (await extractLayer(await layer.open(), this.root, { ...this.extractOptions(), ...checkedAgainstDiffId(layer), onEntry })).files;
      if (seen) this.env.layerPaths!.set(layer.descriptor.digest, seen);
      this.applied++;
    }
    this.snap?.invalidate(); // changed behind the snapshotter's back: it walks again
    log.info(`unpacked ${pending.length} layer(s) of stage ${this.name ?? this.index} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return this.root;
  }

  /**
   * Does `p` (absolute in-image path) exist as a directory in the stage's files? A stage that
   * runs no command answers from the layers' tar headers and never unpacks its base.
   */
  async isDir(p: string): Promise<boolean> {
    const index = await this.indexInsteadOfRoot();
    if (index) return index.isDir(p);
    try {
      // links resolved inside the root: an absolute one must not lead to the host's path
      return fs.statSync(hostPathInRoot(await this.rootfs(), p)).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * `p` (absolute, in the image) with the symlinks on its way followed inside the stage's files,
   * as a process in the image would resolve it: where COPY writes and WORKDIR makes directories
   * (`COPY f /lib/x/` on a merged-/usr base lands in /usr/lib/x, as in Docker and buildah).
   */
  async followLinks(p: string): Promise<string> {
    const index = await this.indexInsteadOfRoot();
    if (index) return index.resolve(p);
    const root = await this.rootfs();
    const host = resolveInRootSync(root, p, { followLast: true }).hostPath;
    return '/' + path.relative(root, host).split(path.sep).join('/');
  }

  /** For a stage that runs no command: its paths from the layers' tar headers (it never unpacks). */
  private async indexInsteadOfRoot(): Promise<PathIndex | undefined> {
    if (this.root || this.runsCommands || this.env.opts.singleSnapshot) return undefined;
    this.pathIndex ??= new PathIndex();
    for (const layer of this.image.layers.slice(this.indexed)) {
      const known = this.env.layerPaths?.get(layer.descriptor.digest);
      if (known) {
        this.pathIndex.addEntries(known);
        log.debug(`stage ${this.name ?? this.index}: paths of layer ${layer.descriptor.digest.slice(7, 19)} known from its unpacking`);
      } else {
        await this.pathIndex.addLayer(await layer.open());
      }
      this.indexed++;
    }
    return this.pathIndex;
  }

  /** Absolute in-image path for `p` given the current WORKDIR. */
  resolvePath(p: string): string {
    if (p.startsWith('/')) return path.posix.normalize(p);
    const wd = this.image.config.config?.WorkingDir || '/';
    return path.posix.normalize(path.posix.join(wd, p));
  }
}
