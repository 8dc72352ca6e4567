// Push an image built earlier and kept on disk (--oci-layout-path, --tar-path) without building
// again: the scan-then-push workflow (build with --no-push, scan the artifact, push it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDockerArchive } from '../image/readers/docker-archive';
import { readOciLayout } from '../image/readers/oci-layout';
import type { StoredImage } from '../image/readers/stored-image';
import { UserError, log } from '../log';
import { extractionTools } from './isolation/host-tools';
import type { RegistryClient } from '../registry';
import { outputFiles, prepareOutputDirs } from './output-files';
import { parseDestinations } from './destinations';
import { pushStored, writeDigestFiles, type DigestFiles, type PushOptions, type PushResult } from './push';

/**
 * The image at `location`: an OCI layout directory (`DIR`, or `DIR:REF` to pick one of several
 * images) or a docker-archive tarball. Tarball members are copied out into `workDir`.
 */
export async function readStoredImage(location: string, workDir: string): Promise<StoredImage> {
  const st = fs.statSync(location, { throwIfNoEntry: false });
  if (st?.isDirectory()) return readOciLayout(location);
  if (st?.isFile()) return readDockerArchive(location, workDir, extractionTools());
  const colon = location.lastIndexOf(':');
  if (colon > 0 && fs.statSync(location.slice(0, colon), { throwIfNoEntry: false })?.isDirectory()) {
    return readOciLayout(location.slice(0, colon), location.slice(colon + 1));
  }
  throw new UserError(`${location} does not exist: expected an OCI layout directory (DIR or DIR:REF) or a docker-archive tarball`);
}

export interface PushArtifactOptions extends PushOptions, DigestFiles {
  location: string;
  destinations: string[];
  client: RegistryClient;
  /** scratch space for a tarball's members (removed afterwards) */
  workDir: string;
}

export async function pushArtifact(o: PushArtifactOptions): Promise<PushResult> {
  if (o.destinations.length === 0) throw new UserError('no --destination given: name at least one image to push to', { exitCode: 2 });
  const destinations = parseDestinations(o.destinations);
  await prepareOutputDirs(outputFiles(o));
  const scratch = fs.mkdtempSync(path.join(o.workDir, 'drydock-push-'));
  try {
    const img = await readStoredImage(o.location, scratch);
    log.info(`pushing ${img.source} (${img.layers.length} layers, manifest ${img.manifestDigest})`);
    const result = await pushStored(o.client, img, destinations, o);
    writeDigestFiles(o, destinations, result.digest);
    return result;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
