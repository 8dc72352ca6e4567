// --cache-repo oci:PATH: the same one-layer entries as the registry cache, kept in an OCI image
// layout directory with the key as ref name (so `skopeo inspect oci:PATH:KEY` shows an entry).
import type { Layer } from '../../image/image';
import { parseManifest } from '../../image/manifest';
import { log } from '../../log';
import { entryImage } from './entry-image';
import { LayoutStore, REF_NAME } from './layout';
import { checkCacheEntry, type CachedLayer, type CacheMeta, type LayerCache } from './types';

export interface OciCacheOptions {
  ttlSeconds: number;
  now?: () => Date;
}

export class OciLayoutLayerCache implements LayerCache {
  readonly description: string;
  private readonly store: LayoutStore;
  private readonly now: () => Date;

  constructor(readonly dir: string, private readonly o: OciCacheOptions) {
    this.store = new LayoutStore(dir);
    this.description = `OCI layout cache ${dir}`;
    this.now = o.now ?? (() => new Date());
  }

  async get(key: string): Promise<CachedLayer | undefined> {
    const found = this.store.find(key);
    const desc = found[found.length - 1];
    if (!desc) return undefined;
    const what = `cache entry ${key} in ${this.dir}`;
    if (!this.store.hasBlob(desc.digest)) {
      log.debug(`cache miss: the manifest of ${what} is missing`);
      return undefined;
    }
    const parsed = parseManifest(await this.store.readBlob(desc), desc.mediaType, `manifest of ${what}`);
    if (parsed.kind !== 'manifest') return undefined;
    const m = parsed.manifest;
    if (!this.store.hasBlob(m.config.digest) || !m.layers[0] || !this.store.hasBlob(m.layers[0].digest)) {
      log.debug(`cache miss: blobs of ${what} are missing`);
      return undefined;
    }
    const verdict = checkCacheEntry(key, await this.store.readBlob(m.config), m.layers.length, this.o.ttlSeconds, this.now(), what);
    if (!verdict.ok) {
      log.debug(`cache miss: ${verdict.why}`);
      return undefined;
    }
    const descriptor = m.layers[0];
    const store = this.store;
    const layer: Layer = { descriptor, diffId: verdict.diffId, localFile: store.blobPath(descriptor.digest), open: async () => store.openBlob(descriptor) };
    return { key, layer, history: verdict.history, stored: verdict.stored };
  }

  async put(key: string, layer: Layer, meta: CacheMeta): Promise<void> {
    const e = entryImage(key, layer, meta, this.now());
    await this.store.writeBlobStream(e.layerDescriptor, () => layer.open());
    await this.store.writeBlobBytes(e.configDescriptor.digest, e.configBody);
    await this.store.writeBlobBytes(e.manifestDigest, e.manifestBody);
    await this.store.updateIndex(
      { mediaType: e.mediaType, digest: e.manifestDigest, size: e.manifestBody.length, annotations: { [REF_NAME]: key } },
      (m) => m.annotations?.[REF_NAME] === key,
    );
  }
}
