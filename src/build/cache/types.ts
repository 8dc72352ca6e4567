// The layer cache's one interface, and the small image every backend stores per entry: a
// one-layer image (kaniko's format) whose config names the layer's diffId, the step's history and
// the time it was stored, labelled so that a foreign image under a key-shaped tag is never taken
// for a cache entry.
import type { HistoryEntry, ImageConfigFile } from '../../image/config';
import { parseConfig } from '../../image/config';
import type { Layer } from '../../image/image';
import type { Platform } from '../../image/platform';

export const CACHE_LABEL = 'org.drydock.cache';
export const CACHE_KEY_LABEL = 'org.drydock.cache.key';
const CACHE_LABEL_VALUE = 'layer-v1';

/** What a step stores beside its layer. */
export interface CacheMeta {
  /** the step's history entry (created_by is the instruction) */
  history: HistoryEntry;
  /** recorded in the entry's config so registries and tools show a sensible platform */
  platform?: Platform;
}

export interface CachedLayer {
  key: string;
  /** the layer; open() streams the blob from the cache (verified) */
  layer: Layer;
  /** the history entry stored with the layer */
  history: HistoryEntry;
  /** when the entry was stored (what the TTL is measured from) */
  stored: Date;
}

export interface LayerCache {
  /** for logs: "registry cache host/repo", "OCI layout cache /path" */
  readonly description: string;
  /** The entry for `key`, or undefined when there is none or it is older than the TTL. */
  get(key: string): Promise<CachedLayer | undefined>;
  /** Store `layer` under `key` (replacing an older entry). */
  put(key: string, layer: Layer, meta: CacheMeta): Promise<void>;
}

/** The config blob of a cache entry. `stored` is wall-clock time, also in reproducible builds: the TTL needs it. */
export function cacheEntryConfig(key: string, layer: Layer, meta: CacheMeta, stored: Date): ImageConfigFile {
  const history: HistoryEntry = { ...meta.history };
  delete history.empty_layer;
  return {
    architecture: meta.platform?.architecture ?? 'amd64',
    os: meta.platform?.os ?? 'linux',
    ...(meta.platform?.variant ? { variant: meta.platform.variant } : {}),
    created: stored.toISOString(),
    config: { Labels: { [CACHE_LABEL]: CACHE_LABEL_VALUE, [CACHE_KEY_LABEL]: key } },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [history],
  };
}

export type EntryVerdict =
  | { ok: true; diffId: string; history: HistoryEntry; stored: Date }
  | { ok: false; why: string };

/** Check a cache entry's config: ours, for this key, one layer, and younger than `ttlSeconds`. */
export function checkCacheEntry(key: string, configBody: Buffer, layerCount: number, ttlSeconds: number, now: Date, what: string): EntryVerdict {
  let config: ImageConfigFile;
  try {
    config = parseConfig(configBody, `config of ${what}`);
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  const labels = config.config?.Labels ?? {};
  if (labels[CACHE_LABEL] !== CACHE_LABEL_VALUE) return { ok: false, why: `${what} is not a drydock cache entry (label ${CACHE_LABEL} missing)` };
  if (labels[CACHE_KEY_LABEL] !== key) return { ok: false, why: `${what} was stored for another key (${labels[CACHE_KEY_LABEL]})` };
  if (layerCount !== 1 || config.rootfs.diff_ids.length !== 1) {
    return { ok: false, why: `${what} holds ${layerCount} layers and ${config.rootfs.diff_ids.length} diff_ids, expected exactly one` };
  }
  const stored = config.created ? new Date(config.created) : undefined;
  if (!stored || Number.isNaN(stored.getTime())) return { ok: false, why: `${what} has no valid "created" time` };
  const ageSeconds = (now.getTime() - stored.getTime()) / 1000;
  if (ageSeconds > ttlSeconds) return { ok: false, why: `${what} expired (stored ${config.created}, older than the cache TTL of ${ttlSeconds}s)` };
  return { ok: true, diffId: config.rootfs.diff_ids[0], history: config.history?.[0] ?? {}, stored };
}
