// Read one image out of an OCI image layout directory (image-spec layout.md): index.json names
// the manifest, blobs/<alg>/<hex> hold everything. Manifest and config are verified against their
// digests here; layers as they are pushed (the registry checks each upload's digest too).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../log';
import { sha256Digest, verifyingStream } from '../digest';
import { layoutBlobPath, REF_NAME } from '../layout';
import type { Layer } from '../image';
import { parseManifest, type Descriptor } from '../manifest';
import type { StoredImage } from './stored-image';

function readBlob(dir: string, d: Descriptor, what: string): Buffer {
  const file = layoutBlobPath(dir, d.digest);
  let body: Buffer;
  try {
    body = fs.readFileSync(file);
  } catch {
    throw new UserError(`OCI layout ${dir}: the ${what} ${d.digest} is missing (${file})`);
  }
  if (d.digest.startsWith('sha256:') && sha256Digest(body) !== d.digest) throw new UserError(`OCI layout ${dir}: the ${what} ${file} does not match its digest ${d.digest}`);
  return body;
}

/**
 * The one image of the layout at `dir`, or the one whose ref name is `ref`. A layout holding
 * several images needs a ref; an image index (several platforms) is refused.
 */
export function readOciLayout(dir: string, ref?: string): StoredImage {
  const source = ref ? `${dir}:${ref}` : dir;
  if (!fs.existsSync(path.join(dir, 'oci-layout')) || !fs.existsSync(path.join(dir, 'index.json'))) {
    throw new UserError(`${dir} is not an OCI image layout (no oci-layout and index.json files)`);
  }
  let index: { manifests?: Descriptor[] };
  try {
    index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  } catch (e) {
    throw new UserError(`${path.join(dir, 'index.json')}: not valid JSON (${(e as Error).message})`);
  }
  const all = Array.isArray(index.manifests) ? index.manifests : [];
  const refOf = (d: Descriptor) => d.annotations?.[REF_NAME];
  const chosen = ref ? all.filter((d) => refOf(d) === ref) : all;
  if (chosen.length !== 1) {
    const names = all.map((d) => refOf(d) ?? d.digest).join(', ') || 'none';
    throw new UserError(ref
      ? `OCI layout ${dir} has ${chosen.length === 0 ? 'no' : 'several'} image${chosen.length === 0 ? '' : 's'} named "${ref}" (it has: ${names})`
      : `OCI layout ${dir} holds ${all.length} images (${names}): name one as ${dir}:REF`);
  }
  const desc = chosen[0];
  const manifestBody = readBlob(dir, desc, 'manifest');
  const parsed = parseManifest(manifestBody, desc.mediaType, `manifest ${desc.digest}`);
  if (parsed.kind !== 'manifest') throw new UserError(`${source}: an image index (several platforms) cannot be pushed as one image; push each platform's image`);
  const m = parsed.manifest;
  const configBody = readBlob(dir, m.config, 'config');
  const layers: Layer[] = m.layers.map((d, i) => {
    const file = layoutBlobPath(dir, d.digest);
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    if (size === undefined) throw new UserError(`OCI layout ${dir}: layer ${i + 1} (${d.digest}) is missing (${file})`);
    if (size !== d.size) throw new UserError(`OCI layout ${dir}: layer ${i + 1} (${file}) has ${size} bytes, its descriptor says ${d.size}`);
    return {
      descriptor: d,
      diffId: '', // not needed to push
      localFile: file,
      open: async () => fs.createReadStream(file).pipe(verifyingStream(d.digest, d.size, `layer ${i + 1} of ${source}`)),
    };
  });
  return {
    manifestBody,
    manifestDigest: sha256Digest(manifestBody),
    manifestMediaType: parsed.mediaType,
    configBody,
    configDescriptor: m.config,
    layers,
    source,
  };
}
