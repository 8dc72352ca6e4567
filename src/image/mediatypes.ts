// Media types of the Docker v2 schema 2 and OCI image formats, and what each one implies.

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
export const DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const OCI_LAYER_NONDISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
export const OCI_LAYER_NONDISTRIBUTABLE_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** Every manifest and index type we can read, in the order we prefer them (Accept header). */
export const ACCEPT_MANIFESTS = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

export function isIndex(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

export function isManifest(mediaType: string | undefined): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

export function isSchema1(mediaType: string | undefined): boolean {
  return mediaType === DOCKER_MANIFEST_V1 || mediaType === DOCKER_MANIFEST_V1_SIGNED;
}

export function isConfig(mediaType: string | undefined): boolean {
  return mediaType === OCI_CONFIG || mediaType === DOCKER_CONFIG;
}

export type Compression = 'none' | 'gzip' | 'zstd';

const LAYER_COMPRESSION: Record<string, Compression> = {
  [DOCKER_LAYER]: 'none',
  [DOCKER_LAYER_GZIP]: 'gzip',
  [DOCKER_FOREIGN_LAYER]: 'gzip',
  [OCI_LAYER]: 'none',
  [OCI_LAYER_GZIP]: 'gzip',
  [OCI_LAYER_ZSTD]: 'zstd',
  [OCI_LAYER_NONDISTRIBUTABLE]: 'none',
  [OCI_LAYER_NONDISTRIBUTABLE_GZIP]: 'gzip',
  [OCI_LAYER_NONDISTRIBUTABLE_ZSTD]: 'zstd',
};

export function isLayer(mediaType: string | undefined): boolean {
  return mediaType !== undefined && mediaType in LAYER_COMPRESSION;
}

/** Foreign / non-distributable layers are not pushed (their blobs live elsewhere, see `urls`). */
export function isForeignLayer(mediaType: string | undefined): boolean {
  return mediaType === DOCKER_FOREIGN_LAYER || (mediaType ?? '').startsWith('application/vnd.oci.image.layer.nondistributable.');
}

/** The compression a layer media type declares; throws naming the media type when it is not a layer. */
export function layerCompression(mediaType: string): Compression {
  const c = LAYER_COMPRESSION[mediaType];
  if (!c) throw new Error(`unknown layer media type "${mediaType}": expected one of ${Object.keys(LAYER_COMPRESSION).join(', ')}`);
  return c;
}

/** The layer media type of the same family (docker/oci) as `manifestMediaType` with the given compression. */
export function layerMediaType(manifestMediaType: string, compression: Compression): string {
  const oci = manifestMediaType === OCI_MANIFEST || manifestMediaType === OCI_INDEX;
  if (oci) return compression === 'gzip' ? OCI_LAYER_GZIP : compression === 'zstd' ? OCI_LAYER_ZSTD : OCI_LAYER;
  if (compression === 'zstd') return OCI_LAYER_ZSTD; // Docker schema2 has no zstd type; Docker itself uses the OCI one
  return compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
}

/** The config media type that belongs with a manifest media type. */
export function configMediaType(manifestMediaType: string): string {
  return manifestMediaType === DOCKER_MANIFEST ? DOCKER_CONFIG : OCI_CONFIG;
}
