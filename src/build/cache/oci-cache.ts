// --cache-repo oci:PATH: the same one-layer entries as the registry cache, kept in an OCI image
// layout directory with the key as ref name (so `skopeo inspect oci:PATH:KEY` shows an entry).
import { DigestMismatchError, SizeMismatchError } from '../../image/digest';
import type { Layer } from '../../image/image';
import { parseManifest, type Descriptor } from '../../image/manifest';
import { log } from '../../log';
import { entryImage } from './entry-image';
import type { FileLockOptions } from './file-lock';
import { LayoutStore, REF_NAME } from './layout';
import { checkCacheEntry, type CachedLayer, type CacheMeta, type LayerCache } from './types';

export interface OciCacheOptions {
  ttlSeconds: number;
  now?: () => Date;
  /** how long a store waits for another process's index.json lock */
  lock?: FileLockOptions;
}

export class OciLayoutLayerCache implements LayerCache {
  readonly description: string;
  private readonly store: LayoutStore;
  private readonly now: () => Date;
  /** layer blobs already verified by this cache (a build may look one up more than once) */
  private readonly verified = new Set<string>();

  constructor(readonly dir: string, private readonly o: OciCacheOptions) {
    this.store = new LayoutStore(dir, o.lock);
    this.description = `OCI layout cache ${dir}`;
    this.now = o.now ?? (() => new Date());
  }

  /**
   * The entry for `key`. Every blob is verified before a hit is handed out (the layer's size first,
   * then its digest: a hit's file is hard-linked into outputs as it is): a damaged blob makes the
   * lookup a miss, said in the log, and is removed so that storing the step again repairs the entry.
   */
  async get(key: string): Promise<CachedLayer | undefined> {
    const found = this.store.find(key);
    const desc = found[found.length - 1];
    if (!desc) return undefined;
    const what = `cache entry ${key} in ${this.dir}`;
    if (!this.store.hasBlob(desc.digest)) {
      log.debug(`cache miss: the manifest of ${what} is missing`);
      return undefined;
    }
    const manifestBody = await this.readSmall(desc, what, 'manifest');
    if (!manifestBody) return undefined;
    const parsed = parseManifest(manifestBody, desc.mediaType, `manifest of ${what}`);
    if (parsed.kind !== 'manifest') return undefined;
    const m = parsed.manifest;
    if (!this.store.hasBlob(m.config.digest) || !m.layers[0] || !this.store.hasBlob(m.layers[0].digest)) {
      log.debug(`cache miss: blobs of ${what} are missing`);
      return undefined;
    }
    const configBody = await this.readSmall(m.config, what, 'config');
    if (!configBody) return undefined;
    const verdict = checkCacheEntry(key, configBody, m.layers.length, this.o.ttlSeconds, this.now(), what);
    if (!verdict.ok) {
      log.debug(`cache miss: ${verdict.why}`);
      return undefined;
    }
    const descriptor = m.layers[0];
    const store = this.store;
    if (!this.verified.has(descriptor.digest)) {
      const bad = await store.checkBlob(descriptor);
      if (bad) {
        await this.damaged(what, descriptor.digest, `layer ${descriptor.digest}: ${bad}`);
        return undefined;
      }
      this.verified.add(descriptor.digest);
    }
    const layer: Layer = { descriptor, diffId: verdict.diffId, localFile: store.blobPath(descriptor.digest), open: async () => store.openBlob(descriptor) };
    return { key, layer, history: verdict.history, stored: verdict.stored };
  }

  /** A manifest or config blob, or undefined when it does not match its digest (removed, a miss). */
  private async readSmall(d: Descriptor, what: string, which: string): Promise<Buffer | undefined> {
    try {
      return await this.store.readBlob(d);
    } catch (e) {
      if (!(e instanceof DigestMismatchError || e instanceof SizeMismatchError)) throw e;
      const why = e instanceof DigestMismatchError ? `its content hashes to ${e.actual}` : `${e.actualSize} bytes, expected ${e.expectedSize}`;
      await this.damaged(what, d.digest, `${which} ${d.digest}: ${why}`);
      return undefined;
    }
  }

  private async damaged(what: string, digest: string, why: string): Promise<void> {
    const removed = await this.store.discardBlob(digest);
    log.warn(`${what} is damaged (${why}): treated as a cache miss; ${removed ? 'the damaged blob was removed, storing the step again repairs the entry' : 'the damaged blob could not be removed'}`);
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
