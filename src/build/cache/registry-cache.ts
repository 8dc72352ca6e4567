// --cache-repo host/repo: each entry is a one-layer image tagged with its key (kaniko's layout, so
// registry tooling and retention policies treat it like any image). Blobs go up before the tag,
// so an entry is complete or absent.
import { Readable } from 'node:stream';
import type { Layer } from '../../image/image';
import { parseManifest } from '../../image/manifest';
import type { Reference } from '../../image/reference';
import { log } from '../../log';
import { RegistryError, type RegistryClient } from '../../registry';
import type { BlobStore } from '../blob-store';
import { entryImage } from './entry-image';
import { checkCacheEntry, type CachedLayer, type CacheMeta, type LayerCache } from './types';

export interface RegistryCacheOptions {
  ttlSeconds: number;
  /** where hit layers are kept once downloaded (the build's blob store), so they download once */
  blobs?: BlobStore;
  now?: () => Date;
}

export class RegistryLayerCache implements LayerCache {
  readonly description: string;
  private readonly now: () => Date;

  constructor(readonly repo: Reference, private readonly client: RegistryClient, private readonly o: RegistryCacheOptions) {
    this.description = `registry cache ${repo.name()}`;
    this.now = o.now ?? (() => new Date());
  }

  private at(key: string): Reference {
    return this.repo.withTag(key);
  }

  async get(key: string): Promise<CachedLayer | undefined> {
    const ref = this.at(key);
    let manifest;
    try {
      manifest = await this.client.getManifest(ref);
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) return undefined;
      throw e;
    }
    const what = `cache entry ${ref.toString()}`;
    const parsed = parseManifest(manifest.body, manifest.mediaType, `manifest of ${what}`);
    if (parsed.kind !== 'manifest') {
      log.warn(`${what} is an index, not a cache entry; ignoring it`);
      return undefined;
    }
    const m = parsed.manifest;
    const configBody = await this.client.readBlob(ref, m.config);
    const verdict = checkCacheEntry(key, configBody, m.layers.length, this.o.ttlSeconds, this.now(), what);
    if (!verdict.ok) {
      log.debug(`cache miss: ${verdict.why}`);
      return undefined;
    }
    const descriptor = m.layers[0];
    const { client, o } = this;
    const pinned = ref.withDigest(manifest.digest);
    // the tag can outlive its layer (deleted by a retention policy or by hand): such an entry is a
    // miss, so the step is built and stored again, instead of a hit whose download fails later
    if (!o.blobs?.has(descriptor.digest) && !(await client.hasBlob(pinned, descriptor.digest, 'pull'))) {
      log.warn(`${what} lacks its layer ${descriptor.digest} (deleted from the registry?): treated as a cache miss; storing the step again repairs the entry`);
      return undefined;
    }
    const layer: Layer = {
      descriptor,
      diffId: verdict.diffId,
      origin: { registry: ref.registry, repository: ref.repository },
      open: async () => {
        if (!o.blobs) return client.openBlob(pinned, descriptor);
        await o.blobs.ensure(descriptor.digest, () => client.openBlob(pinned, descriptor));
        return o.blobs.open(descriptor.digest);
      },
    };
    return { key, layer, history: verdict.history, stored: verdict.stored };
  }

  async put(key: string, layer: Layer, meta: CacheMeta): Promise<void> {
    const ref = this.at(key);
    const e = entryImage(key, layer, meta, this.now());
    const mountFrom = layer.origin && layer.origin.registry === ref.registry ? [layer.origin.repository] : [];
    await this.client.pushBlob(ref, e.layerDescriptor, () => layer.open(), { mountFrom });
    await this.client.pushBlob(ref, e.configDescriptor, () => Readable.from([e.configBody]));
    await this.client.putManifest(ref, e.manifestBody, e.mediaType);
  }
}
