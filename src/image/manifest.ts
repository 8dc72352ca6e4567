// Image manifests and indexes (Docker schema 2 and OCI): parsing with shape checks that say what
// is wrong, and a canonical serialization whose key order we control (the digest is of the bytes).
import { UserError } from '../log';
import { isDigest } from './digest';
import * as mt from './mediatypes';
import type { Platform } from './platform';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Only in index entries. JSON "os.version"/"os.features" map to osVersion/osFeatures. */
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  /** Required for Docker schema 2; optional (often absent, e.g. from skopeo) for OCI. */
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class ShapeError extends UserError {}

function fail(what: string, msg: string): never {
  throw new ShapeError(`invalid ${what}: ${msg}`);
}

function stringMap(v: unknown, what: string, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) fail(what, `"${field}" must be an object of strings`);
  return { ...(v as Record<string, string>) };
}

function parsePlatformJson(v: unknown, what: string, field: string): Platform | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail(what, `"${field}" must be an object`);
  if (typeof v.os !== 'string' || typeof v.architecture !== 'string') fail(what, `"${field}" needs string "os" and "architecture"`);
  const p: Platform = { os: v.os, architecture: v.architecture };
  if (v.variant !== undefined) {
    if (typeof v.variant !== 'string') fail(what, `"${field}.variant" must be a string`);
    if (v.variant) p.variant = v.variant;
  }
  if (v['os.version'] !== undefined) {
    if (typeof v['os.version'] !== 'string') fail(what, `"${field}.os.version" must be a string`);
    p.osVersion = v['os.version'];
  }
  const features = v['os.features'];
  if (features !== undefined && features !== null) {
    if (!Array.isArray(features) || features.some((x) => typeof x !== 'string')) fail(what, `"${field}.os.features" must be an array of strings`);
    p.osFeatures = [...features];
  }
  return p;
}

/** Validate one descriptor object; `field` locates it in errors ("layers[2]"). */
export function parseDescriptor(v: unknown, what: string, field: string): Descriptor {
  if (!isObject(v)) fail(what, `"${field}" must be an object`);
  if (typeof v.mediaType !== 'string' || !v.mediaType) fail(what, `"${field}.mediaType" must be a non-empty string`);
  if (!isDigest(v.digest)) fail(what, `"${field}.digest" must be a digest like sha256:<64 hex digits>, got ${JSON.stringify(v.digest)}`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    fail(what, `"${field}.size" must be a non-negative integer, got ${JSON.stringify(v.size)}`);
  }
  const d: Descriptor = { mediaType: v.mediaType, digest: v.digest as string, size: v.size };
  if (v.urls !== undefined && v.urls !== null) {
    if (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string')) fail(what, `"${field}.urls" must be an array of strings`);
    d.urls = [...(v.urls as string[])];
  }
  const annotations = stringMap(v.annotations, what, `${field}.annotations`);
  if (annotations) d.annotations = annotations;
  const platform = parsePlatformJson(v.platform, what, `${field}.platform`);
  if (platform) d.platform = platform;
  if (typeof v.artifactType === 'string') d.artifactType = v.artifactType;
  return d;
}

const KNOWN_CONTENT_TYPES = new Set([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST]);

/**
 * Parse a manifest or index. The kind comes from the document's own "mediaType", else from the
 * HTTP content type, else from its shape (OCI documents may omit mediaType, as skopeo writes them).
 * `what` names the object in errors (e.g. "manifest of 127.0.0.1:5000/app:1").
 */
export function parseManifest(body: Buffer | string, contentType?: string, what = 'manifest'): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (e) {
    fail(what, `not JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) fail(what, 'expected a JSON object');
  const ct = contentType?.split(';')[0].trim().toLowerCase();
  if (doc.schemaVersion === 1 || mt.isSchema1(ct) || mt.isSchema1(doc.mediaType as string)) {
    fail(what, 'Docker schema 1 manifests are not supported (re-push the image with a current Docker or skopeo)');
  }
  if (doc.schemaVersion !== 2) fail(what, `"schemaVersion" must be 2, got ${JSON.stringify(doc.schemaVersion)}`);
  if (doc.mediaType !== undefined && typeof doc.mediaType !== 'string') fail(what, '"mediaType" must be a string');

  let mediaType = doc.mediaType as string | undefined;
  if (!mediaType && ct && KNOWN_CONTENT_TYPES.has(ct)) mediaType = ct;
  if (!mediaType) {
    if (Array.isArray(doc.manifests)) mediaType = mt.OCI_INDEX;
    else if (doc.config !== undefined || Array.isArray(doc.layers)) mediaType = mt.OCI_MANIFEST;
    else fail(what, 'neither an image manifest ("config" and "layers") nor an index ("manifests")');
  }

  const annotations = stringMap(doc.annotations, what, 'annotations');
  const subject = doc.subject === undefined || doc.subject === null ? undefined : parseDescriptor(doc.subject, what, 'subject');
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : undefined;

  if (mt.isIndex(mediaType)) {
    if (!Array.isArray(doc.manifests)) fail(what, `an index (${mediaType}) needs a "manifests" array`);
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: doc.mediaType as string | undefined,
      manifests: doc.manifests.map((m, i) => parseDescriptor(m, what, `manifests[${i}]`)),
    };
    if (index.mediaType === undefined) delete index.mediaType;
    if (artifactType) index.artifactType = artifactType;
    if (subject) index.subject = subject;
    if (annotations) index.annotations = annotations;
    return { kind: 'index', mediaType, index };
  }
  if (mt.isManifest(mediaType)) {
    if (doc.config === undefined) fail(what, `an image manifest (${mediaType}) needs a "config" descriptor`);
    if (!Array.isArray(doc.layers)) fail(what, `an image manifest (${mediaType}) needs a "layers" array`);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: doc.mediaType as string | undefined,
      config: parseDescriptor(doc.config, what, 'config'),
      layers: doc.layers.map((l, i) => parseDescriptor(l, what, `layers[${i}]`)),
    };
    if (manifest.mediaType === undefined) delete manifest.mediaType;
    if (artifactType) manifest.artifactType = artifactType;
    if (subject) manifest.subject = subject;
    if (annotations) manifest.annotations = annotations;
    return { kind: 'manifest', mediaType, manifest };
  }
  fail(what, `unsupported media type "${mediaType}" (expected one of ${[...KNOWN_CONTENT_TYPES].join(', ')})`);
}

/** The document's media type: its own field, or OCI by shape. */
export function manifestMediaType(m: ImageManifest | ImageIndex): string {
  if (m.mediaType) return m.mediaType;
  return 'manifests' in m ? mt.OCI_INDEX : mt.OCI_MANIFEST;
}

function platformJson(p: Platform): Json {
  const o: Json = { architecture: p.architecture, os: p.os };
  if (p.osVersion) o['os.version'] = p.osVersion;
  if (p.osFeatures?.length) o['os.features'] = [...p.osFeatures];
  if (p.variant) o.variant = p.variant;
  return o;
}

function descriptorJson(d: Descriptor): Json {
  const o: Json = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls?.length) o.urls = [...d.urls];
  if (d.annotations && Object.keys(d.annotations).length) o.annotations = { ...d.annotations };
  if (d.platform) o.platform = platformJson(d.platform);
  if (d.artifactType) o.artifactType = d.artifactType;
  return o;
}

/**
 * Canonical bytes of a manifest or index: compact JSON with a fixed key order (schemaVersion,
 * mediaType, artifactType, config/manifests, layers, subject, annotations), like go-containerregistry.
 */
export function serializeManifest(m: ImageManifest | ImageIndex): Buffer {
  const o: Json = { schemaVersion: 2 };
  if (m.mediaType) o.mediaType = m.mediaType;
  if (m.artifactType) o.artifactType = m.artifactType;
  if ('manifests' in m) {
    o.manifests = m.manifests.map(descriptorJson);
  } else {
    o.config = descriptorJson(m.config);
    o.layers = m.layers.map(descriptorJson);
  }
  if (m.subject) o.subject = descriptorJson(m.subject);
  if (m.annotations && Object.keys(m.annotations).length) o.annotations = { ...m.annotations };
  return Buffer.from(JSON.stringify(o));
}
