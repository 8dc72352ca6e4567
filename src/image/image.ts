// An image under construction: a config plus an ordered list of layers. Values are immutable:
// every edit returns a new Image, so a stage can hand its image to a later stage safely.
import type { Readable } from 'node:stream';
import type { ImageConfigFile, ContainerConfig, HistoryEntry } from './config';
import { sha256Digest } from './digest';
import type { Descriptor, ImageManifest } from './manifest';
import { serializeManifest } from './manifest';
import * as mt from './mediatypes';
import type { Platform } from './platform';

/** One layer: its compressed blob (descriptor) and the digest of its uncompressed tar (diffId). */
export interface Layer {
  descriptor: Descriptor;
  diffId: string;
  /** Stream the compressed blob (verified against descriptor.digest when it comes from a registry). */
  open(): Promise<Readable>;
  /** Start fetching the blob in the background (a remote layer), so a later open() is local. */
  prefetch?(): Promise<unknown>;
  /** The blob as a local file, when it is one (writers may hard-link it instead of copying). */
  localFile?: string;
  /** Where the blob already lives, so a push to the same registry can mount instead of upload. */
  origin?: { registry: string; repository: string };
  /** The image the layer came from (a reference), for messages about it. */
  from?: string;
}

export interface Image {
  /** DOCKER_MANIFEST or OCI_MANIFEST: the family the manifest and config are written in */
  manifestMediaType: string;
  config: ImageConfigFile;
  layers: readonly Layer[];
  /** annotations of the manifest (OCI manifests only) */
  annotations?: Record<string, string>;
}

export function emptyImage(platform: Platform, manifestMediaType: string = mt.DOCKER_MANIFEST): Image {
  const config: ImageConfigFile = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  return { manifestMediaType, config, layers: [] };
}

function cloneConfig(c: ImageConfigFile): ImageConfigFile {
  return JSON.parse(JSON.stringify(c)) as ImageConfigFile;
}

/** A new image with `layer` on top and a history entry for it. */
export function appendLayer(img: Image, layer: Layer, history: HistoryEntry): Image {
  const config = cloneConfig(img.config);
  config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, layer.diffId] };
  config.history = [...(config.history ?? []), { ...history, empty_layer: undefined }].map(stripUndefined);
  return { ...img, config, layers: [...img.layers, layer] };
}

/** A new image with a history entry for an instruction that made no layer (ENV, LABEL, …). */
export function appendHistory(img: Image, history: HistoryEntry): Image {
  const config = cloneConfig(img.config);
  config.history = [...(config.history ?? []), stripUndefined({ ...history, empty_layer: true })];
  return { ...img, config };
}

/** A new image whose container config ("config" object) was edited by `edit`. */
export function editConfig(img: Image, edit: (c: ContainerConfig, file: ImageConfigFile) => void): Image {
  const config = cloneConfig(img.config);
  config.config = config.config ?? {};
  edit(config.config, config);
  return { ...img, config };
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

export interface SerializedImage {
  configBody: Buffer;
  configDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestBody: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
}

/** The exact bytes of config and manifest; the digest of the manifest bytes is the image digest. */
export function serializeImage(img: Image): SerializedImage {
  const configBody = Buffer.from(JSON.stringify(img.config));
  const configDescriptor: Descriptor = {
    mediaType: mt.configMediaType(img.manifestMediaType),
    digest: sha256Digest(configBody),
    size: configBody.length,
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: img.manifestMediaType,
    config: configDescriptor,
    layers: img.layers.map((l) => layerDescriptorFor(img.manifestMediaType, l.descriptor)),
  };
  if (img.annotations && Object.keys(img.annotations).length) manifest.annotations = { ...img.annotations };
  const manifestBody = serializeManifest(manifest);
  return { configBody, configDescriptor, manifest, manifestBody, manifestDigest: sha256Digest(manifestBody), manifestMediaType: img.manifestMediaType };
}

/** Layer descriptors keep their compression but take the manifest's family (docker/OCI) names. */
function layerDescriptorFor(manifestMediaType: string, d: Descriptor): Descriptor {
  if (mt.isForeignLayer(d.mediaType)) return { ...d };
  const mediaType = mt.layerMediaType(manifestMediaType, mt.layerCompression(d.mediaType));
  const out: Descriptor = { mediaType, digest: d.digest, size: d.size };
  if (d.annotations) out.annotations = d.annotations;
  if (d.urls) out.urls = d.urls;
  return out;
}

export function imageSize(img: Image): number {
  return img.layers.reduce((n, l) => n + l.descriptor.size, 0);
}
