// The names an OCI image layout (image-spec layout.md) fixes, shared by its writer and reader.
import * as path from 'node:path';
import { parseDigest } from './digest';

/** The index annotation naming an image (the tag of a layout). */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** blobs/<algorithm>/<hex> under `dir`; the digest is checked first (an index may be anyone's). */
export function layoutBlobPath(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest, 'blob digest');
  return path.join(dir, 'blobs', algorithm, hex);
}
