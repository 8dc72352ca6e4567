// Which layer cache a build uses, from kaniko's flags: --cache turns it on; --cache-repo names a
// registry repository or `oci:PATH`; without --cache-repo the repository is inferred from the
// first --destination as `<destination repository>/cache` (kaniko's rule); --no-push-cache reads
// but never writes.
import * as path from 'node:path';
import type { Layer } from '../../image/image';
import { parseReference, type Reference } from '../../image/reference';
import { UserError, log } from '../../log';
import type { RegistryClient } from '../../registry';
import type { BlobStore } from '../blob-store';
import type { BuildOptions } from '../options';
import { OciLayoutLayerCache } from './oci-cache';
import { RegistryLayerCache } from './registry-cache';
import type { CachedLayer, CacheMeta, LayerCache } from './types';

/** Reads through `inner`, never writes (--no-push-cache). */
class ReadOnlyLayerCache implements LayerCache {
  readonly description: string;
  constructor(private readonly inner: LayerCache) {
    this.description = `${inner.description} (read-only: --no-push-cache)`;
  }
  get(key: string): Promise<CachedLayer | undefined> {
    return this.inner.get(key);
  }
  async put(_key: string, _layer: Layer, _meta: CacheMeta): Promise<void> {
    // --no-push-cache: nothing is stored
  }
}

function cacheRepository(opts: Pick<BuildOptions, 'cacheRepo' | 'destinations'>): string | undefined {
  if (opts.cacheRepo) return opts.cacheRepo;
  const first = opts.destinations[0];
  if (!first) return undefined;
  let dest: Reference;
  try {
    dest = parseReference(first);
  } catch {
    return undefined; // the build reports bad destinations itself
  }
  return `${dest.name()}/cache`;
}

/**
 * The build's layer cache, or null when --cache is off (or on without any repository to use).
 * `blobs` (the build's blob store) keeps downloaded hit layers so they download once.
 */
export function openLayerCache(opts: BuildOptions, client: RegistryClient, blobs?: BlobStore): LayerCache | null {
  if (!opts.cache) return null;
  if (opts.singleSnapshot) {
    log.warn('--cache is ignored with --single-snapshot: the stage makes one layer, there are no per-step layers to cache');
    return null;
  }
  const repo = cacheRepository(opts);
  if (!repo) {
    log.warn('--cache is on but there is no --cache-repo and no --destination to infer one from: building without a layer cache');
    return null;
  }
  const ttlSeconds = opts.cacheTtlSeconds;
  if (!(ttlSeconds >= 0)) throw new UserError(`invalid --cache-ttl: expected a non-negative duration, got ${ttlSeconds} seconds`);
  let cache: LayerCache;
  if (repo.startsWith('oci:')) {
    const dir = repo.slice(4);
    if (!dir) throw new UserError('invalid --cache-repo "oci:": expected oci:PATH, a directory for an OCI image layout');
    cache = new OciLayoutLayerCache(path.resolve(dir), { ttlSeconds });
  } else {
    let ref: Reference;
    try {
      ref = parseReference(repo);
    } catch (e) {
      throw new UserError(`invalid --cache-repo "${repo}": ${(e as Error).message} (expected a registry repository such as registry.example.com/team/app/cache, or oci:PATH)`);
    }
    if (ref.digest || (ref.tag && repo.endsWith(`:${ref.tag}`))) {
      throw new UserError(`invalid --cache-repo "${repo}": name a repository without a tag or digest (entries are tagged with their keys)`);
    }
    cache = new RegistryLayerCache(ref, client, { ttlSeconds, blobs });
  }
  if (opts.noPushCache) cache = new ReadOnlyLayerCache(cache);
  log.info(`layer cache: ${cache.description}, TTL ${ttlSeconds}s`);
  return cache;
}
