// An image already built and stored on disk (an OCI layout, a docker-archive tarball), ready to
// push as it is: the exact manifest and config bytes (so its digest is kept) and its layers.
import type { Layer } from '../image';
import type { Descriptor } from '../manifest';

export interface StoredImage {
  manifestBody: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  configBody: Buffer;
  configDescriptor: Descriptor;
  layers: readonly Layer[];
  /** how the user named it, for messages */
  source: string;
}
