// The bytes of one cache entry as an OCI image: config, manifest, and the layer descriptor in the
// OCI family (a cached layer may come from a Docker-family build; the blob is the same).
import type { Layer } from '../../image/image';
import { sha256Digest } from '../../image/digest';
import type { Descriptor, ImageManifest } from '../../image/manifest';
import { serializeManifest } from '../../image/manifest';
import * as mt from '../../image/mediatypes';
import { cacheEntryConfig, type CacheMeta } from './types';

export interface EntryImage {
  layerDescriptor: Descriptor;
  configBody: Buffer;
  configDescriptor: Descriptor;
  manifestBody: Buffer;
  manifestDigest: string;
  mediaType: string;
}

export function entryImage(key: string, layer: Layer, meta: CacheMeta, stored: Date): EntryImage {
  const configBody = Buffer.from(JSON.stringify(cacheEntryConfig(key, layer, meta, stored)));
  const configDescriptor: Descriptor = { mediaType: mt.OCI_CONFIG, digest: sha256Digest(configBody), size: configBody.length };
  const layerDescriptor: Descriptor = {
    mediaType: mt.layerMediaType(mt.OCI_MANIFEST, mt.layerCompression(layer.descriptor.mediaType)),
    digest: layer.descriptor.digest,
    size: layer.descriptor.size,
  };
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config: configDescriptor, layers: [layerDescriptor] };
  const manifestBody = serializeManifest(manifest);
  return { layerDescriptor, configBody, configDescriptor, manifestBody, manifestDigest: sha256Digest(manifestBody), mediaType: mt.OCI_MANIFEST };
}
