// FROM: turn a base reference into an Image value whose layers download lazily (into the build's
// blob store) and remember where they came from, so a push to the same registry can mount them.
import type { Image, Layer } from '../image/image';
import { editConfig, emptyImage } from '../image/image';
import type { ImageManifest } from '../image/manifest';
import * as mt from '../image/mediatypes';
import type { Platform } from '../image/platform';
import { parseReference, type Reference } from '../image/reference';
import { UserError, log } from '../log';
import type { RegistryClient } from '../registry';
import type { BlobStore } from './blob-store';

/**
 * How a layer of an image (a base, an image of COPY --from, a cached step) is extracted: checked
 * against the diffID of its image's config, which the image we build copies; a layer that hashes
 * otherwise would be built on and published under a diff_id that tools such as umoci refuse.
 */
export function checkedAgainstDiffId(layer: Layer): { diffId?: string; layerName: string } {
  const layerName = `${layer.descriptor.digest}${layer.from ? ` of image ${layer.from}` : ''}`;
  // an uncompressed layer's blob digest is its diffID, and the blob is checked against that
  // digest as it is fetched or taken from a cache: no second hash of the same bytes
  if (layer.descriptor.digest === layer.diffId) return { layerName };
  return { diffId: layer.diffId, layerName };
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
import { lookupCachedBaseFor } from './cache/base-cache';
import type { BuildOptions } from './options';

export interface ResolvedBase {
  image: Image;
  /** registry reference with the manifest digest (for logs and cache keys), absent for scratch */
  ref?: Reference;
  digest?: string;
}

/**
 * `fetchFirstLayer`: the caller will unpack the image, so its first layer starts downloading as
 * soon as the manifest names it, while the config is still on its way (one round trip less; two
 * where a registry redirects blob downloads to storage).
 */
export async function resolveBaseImage(
  name: string, platform: Platform, client: RegistryClient, blobs: BlobStore, where: string,
  opts?: Pick<BuildOptions, 'cache' | 'cacheDir' | 'cacheTtlSeconds'>, fetchFirstLayer = false,
): Promise<ResolvedBase> {
  // scratch images are OCI (what current builders default to); other bases keep their family
  if (name === 'scratch') {
    // like kaniko and buildah, a scratch image starts with the default PATH
    const image = editConfig(emptyImage(platform, mt.OCI_MANIFEST), (c) => {
      c.Env = [`PATH=${DEFAULT_PATH}`];
    });
    return { image };
  }
  let ref: Reference;
  try {
    ref = parseReference(name);
  } catch (e) {
    throw new UserError(`${where}: invalid base image reference "${name}": ${(e as Error).message}`);
  }
  // --cache --cache-dir (filled by `drydock warm`): used when it holds what the registry names now
  if (opts?.cache && opts.cacheDir) {
    const cached = await lookupCachedBaseFor(opts.cacheDir, ref, platform, client, { ttlSeconds: opts.cacheTtlSeconds });
    if (cached) return cached;
  }
  const t0 = Date.now();
  const early = fetchFirstLayer
    ? (pinned: Reference, m: ImageManifest) => {
      const first = m.layers[0];
      if (first) blobs.startFetch(first.digest, () => client.openBlob(pinned, first));
    }
    : undefined;
  const r = await client.resolveImage(ref, platform, early).catch((e: unknown) => {
    if (e instanceof UserError) throw new UserError(`${where}: cannot pull base image ${ref.toString()}: ${e.message}`);
    throw e;
  });
  const layers: Layer[] = r.layers.map((d, i) => {
    const diffId = r.config.rootfs.diff_ids[i];
    if (!diffId) throw new UserError(`${where}: base image ${ref.toString()} is inconsistent: ${r.layers.length} layers but ${r.config.rootfs.diff_ids.length} diff_ids`);
    return {
      descriptor: d,
      diffId,
      origin: { registry: r.ref.registry, repository: r.ref.repository },
      from: ref.toString(),
      open: () => blobs.openOrFetch(d.digest, () => client.openBlob(r.ref, d)),
      prefetch: () => blobs.ensure(d.digest, () => client.openBlob(r.ref, d)),
      // once downloaded, writers link the store's file instead of copying it
      get localFile() {
        return blobs.has(d.digest) ? blobs.pathOf(d.digest) : undefined;
      },
    };
  });
  const manifestMediaType = r.manifestMediaType === mt.OCI_MANIFEST ? mt.OCI_MANIFEST : mt.DOCKER_MANIFEST;
  log.info(`resolved ${ref.toString()} to ${r.manifestDigest} (${layers.length} layers, ${Date.now() - t0} ms)`);
  return { image: { manifestMediaType, config: r.config, layers }, ref: ref.withDigest(r.manifestDigest), digest: r.manifestDigest };
}
