// Write an image into an OCI image layout directory (image-spec layout.md): blobs by digest,
// index.json naming the manifest. Existing layouts are extended, not replaced.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../log';
import { DigestingStream } from '../digest';
import type { Image } from '../image';
import { serializeImage } from '../image';
import type { Descriptor, ImageIndex } from '../manifest';
import { layoutBlobPath, REF_NAME } from '../layout';
import { OCI_INDEX, OCI_MANIFEST } from '../mediatypes';

async function writeBlobBytes(dir: string, digest: string, body: Buffer): Promise<void> {
  const p = layoutBlobPath(dir, digest);
  await fs.promises.mkdir(path.dirname(p), { recursive: true });
  await fs.promises.writeFile(p, body);
}

/** Copy a stream into the layout as blob `digest`, verifying it; skipped when the blob exists. */
async function writeBlobStream(dir: string, digest: string, open: () => Promise<NodeJS.ReadableStream>): Promise<void> {
  const p = layoutBlobPath(dir, digest);
  if (fs.existsSync(p)) return;
  await fs.promises.mkdir(path.dirname(p), { recursive: true });
  const tmp = `${p}.partial-${process.pid}`;
  const hasher = new DigestingStream();
  await pipeline(await open(), hasher, fs.createWriteStream(tmp));
  if (hasher.digest() !== digest) {
    await fs.promises.rm(tmp, { force: true });
    throw new UserError(`layer content changed while writing the OCI layout: expected ${digest}, got ${hasher.digest()}`);
  }
  await fs.promises.rename(tmp, p);
}

/** Hard-link a local blob into the layout (same filesystem): no second copy of big layers. */
async function tryLink(src: string, dest: string): Promise<boolean> {
  if (fs.existsSync(dest)) return true;
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  try {
    await fs.promises.link(src, dest);
    return true;
  } catch {
    return false;
  }
}

function readIndex(dir: string): ImageIndex {
  const file = path.join(dir, 'index.json');
  if (!fs.existsSync(file)) return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ImageIndex;
  } catch (e) {
    throw new UserError(`${file}: not a valid OCI index (${(e as Error).message}); choose an empty directory for --oci-layout-path`);
  }
}

/**
 * Write `img` into the layout at `dir` and name it `refName` (the tag umoci/skopeo address it by,
 * as in `oci:DIR:refName`). An entry with the same name is replaced. Returns the manifest descriptor.
 */
export async function writeOciLayout(dir: string, built: Image, refName: string): Promise<Descriptor> {
  // an OCI layout holds OCI manifests (umoci and the spec expect them): Docker-family images are
  // written with the equivalent OCI media types, which changes their digest
  const img: Image = { ...built, manifestMediaType: OCI_MANIFEST };
  await fs.promises.mkdir(dir, { recursive: true });
  const layoutFile = path.join(dir, 'oci-layout');
  if (!fs.existsSync(layoutFile)) await fs.promises.writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const s = serializeImage(img);
  for (const layer of img.layers) {
    if (layer.localFile && (await tryLink(layer.localFile, layoutBlobPath(dir, layer.descriptor.digest)))) continue;
    await writeBlobStream(dir, layer.descriptor.digest, () => layer.open());
  }
  await writeBlobBytes(dir, s.configDescriptor.digest, s.configBody);
  await writeBlobBytes(dir, s.manifestDigest, s.manifestBody);
  const desc: Descriptor = {
    mediaType: s.manifestMediaType,
    digest: s.manifestDigest,
    size: s.manifestBody.length,
    annotations: { [REF_NAME]: refName },
  };
  const index = readIndex(dir);
  index.manifests = [...(index.manifests ?? []).filter((m) => m.annotations?.[REF_NAME] !== refName), desc];
  const tmp = path.join(dir, `index.json.tmp-${process.pid}`);
  await fs.promises.writeFile(tmp, JSON.stringify(index));
  await fs.promises.rename(tmp, path.join(dir, 'index.json'));
  return desc;
}
