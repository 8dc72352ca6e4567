// The layer cache woven into a stage's steps. Keys chain through every step (metadata steps too,
// so an ENV change reaches every later layer's key). RUN is looked up before it executes; COPY and
// ADD after their entries are planned (their key needs the content digest) and before the layer
// is written. A hit appends the cached layer; the stage applies it to its root lazily.
import type { AddInstruction, CopyInstruction, Instruction, RunInstruction } from '../../dockerfile/types';
import type { LayerEntry } from '../../fs/types';
import type { HistoryEntry } from '../../image/config';
import type { Layer } from '../../image/image';
import { formatPlatform, type Platform } from '../../image/platform';
import { log } from '../../log';
import { digestEntries } from './entries-digest';
import { baseParentKey } from './key';
import type { StepCache, StepState } from './step-cache';

/** What the hooks need of a StageBuilder (it has all of it once the fields below are added). */
export interface CacheAwareStage extends StepState {
  /** the build's step cache; undefined when the build runs without a layer cache */
  steps?: StepCache;
  /** the key of the stage's last step (the base's key before the first one) */
  cacheKey: string;
  /** a COPY/ADD key waiting for its freshly written layer (set by layerFromCache) */
  pendingCacheKey?: string;
  env: { platform: Platform; compression: string };
  expand(word: string): string;
  where(instr: Pick<Instruction, 'line'>): string;
  history(instr: Instruction): HistoryEntry;
  /** put a cached layer on top of the image (applied to the root when it is next needed) */
  appendCached(layer: Layer, instr: Instruction): Promise<unknown>;
}

/** The first key of a stage built FROM an image (its manifest digest) or scratch (undefined). */
export function stageParentKey(baseDigest: string | undefined, platform: Platform): string {
  return baseParentKey(baseDigest, formatPlatform(platform));
}

/** A bind mount shows a RUN files of the context or another stage: its key must see their content. */
function hasBindMounts(instr: RunInstruction): boolean {
  return instr.mounts.some((m) => m.spec.type === 'bind');
}

export interface StepInputs {
  /** a digest of what a RUN's bind mounts show it; undefined when it cannot be known */
  bindSources?: () => Promise<string | undefined>;
}

/** The expanded flags of COPY/ADD that shape the layer. */
export function copyFlags(instr: CopyInstruction | AddInstruction, expand: (w: string) => string): Record<string, string | undefined> {
  const f = instr.flags;
  const opt = (v: string | undefined) => (v === undefined ? undefined : expand(v));
  const out: Record<string, string | undefined> = {
    chown: opt(f.chown),
    chmod: opt(f.chmod),
    link: String(f.link),
    exclude: f.exclude.length ? JSON.stringify(f.exclude.map(expand)) : undefined,
  };
  if (instr.kind === 'copy') {
    out.from = opt(instr.flags.from);
    out.parents = String(instr.flags.parents);
  } else {
    out.checksum = opt(instr.flags.checksum);
    out.unpack = instr.flags.unpack === undefined ? undefined : String(instr.flags.unpack);
    out.keepGitDir = String(instr.flags.keepGitDir);
  }
  return out;
}

/**
 * One Dockerfile step with the cache: `execute` runs the instruction the usual way. RUN is looked
 * up first and skipped on a hit; a RUN miss stores the layer it made. Metadata steps extend the
 * key chain. COPY/ADD are handled inside the stage's addLayer (layerFromCache / layerToCache).
 */
export async function cachedStep(sb: CacheAwareStage, instr: Instruction, execute: () => Promise<void>, inputs: StepInputs = {}): Promise<void> {
  const steps = sb.steps;
  if (!steps) return execute();
  if (instr.kind === 'copy' || instr.kind === 'add') {
    await execute(); // addLayer moved sb.cacheKey on
    return;
  }
  const parent = sb.cacheKey;
  if (instr.kind !== 'run') {
    await execute();
    sb.cacheKey = steps.keyFor(parent, instr, sb);
    return;
  }
  const binds = hasBindMounts(instr);
  const sources = binds && steps.covers('run') ? await inputs.bindSources?.() : undefined;
  const key = steps.keyFor(parent, instr, sb, sources === undefined ? {} : { sources });
  const cacheable = steps.covers('run') && (!binds || sources !== undefined);
  if (steps.covers('run') && !cacheable) log.info('  not cached: the files RUN --mount=type=bind shows it are not known before it runs');
  if (cacheable) {
    const hit = await steps.lookup(key, sb.where(instr));
    if (hit) {
      await sb.appendCached(hit.layer, instr);
      sb.cacheKey = key;
      return;
    }
  }
  const before = sb.image.layers.length;
  await execute();
  // an uncacheable RUN still has a key, but one no other build can reproduce: later steps must not hit
  sb.cacheKey = cacheable || !steps.covers('run') ? key : steps.keyFor(key, instr, sb, { flags: { uncacheable: `${process.pid}-${Date.now()}-${Math.random()}` } });
  if (cacheable && sb.image.layers.length === before + 1) {
    steps.store(key, sb.image.layers[before], { history: sb.history(instr), platform: sb.env.platform }, sb.where(instr));
  }
}

/**
 * Called by addLayer before writing a COPY/ADD layer: computes the step's key from the planned
 * entries and returns the cached layer on a hit. On a miss the key waits in pendingCacheKey for
 * layerToCache.
 */
export async function layerFromCache(sb: CacheAwareStage, instr: Instruction, entries: readonly LayerEntry[]): Promise<Layer | undefined> {
  const steps = sb.steps;
  sb.pendingCacheKey = undefined;
  if (!steps || (instr.kind !== 'copy' && instr.kind !== 'add')) return undefined;
  const kind = instr.kind;
  const t0 = Date.now();
  const sources = await digestEntries(entries);
  const key = steps.keyFor(sb.cacheKey, instr, sb, { sources, flags: copyFlags(instr, (w) => sb.expand(w)) });
  if (Date.now() - t0 > 1000) log.info(`  hashed ${entries.length} entries for the cache key in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  sb.cacheKey = key;
  if (!steps.covers(kind)) return undefined;
  const hit = await steps.lookup(key, sb.where(instr));
  if (hit) return hit.layer;
  sb.pendingCacheKey = key;
  return undefined;
}

/** Called by addLayer after writing a COPY/ADD layer on a miss: stores it in the background. */
export function layerToCache(sb: CacheAwareStage, instr: Instruction, layer: Layer): void {
  const key = sb.pendingCacheKey;
  sb.pendingCacheKey = undefined;
  if (!key || !sb.steps) return;
  sb.steps.store(key, layer, { history: sb.history(instr), platform: sb.env.platform }, sb.where(instr));
}
