// Push a built image to every destination. Blobs first, for every repository, each confirmed by
// the registry (exists / mounted / uploaded); manifests last, so a failed push leaves no tag behind
// and every tag of every destination names the same digest.
import * as fs from 'node:fs';
import type { Image } from '../image/image';
import type { StoredImage } from '../image/readers/stored-image';
import { serializeImage } from '../image/image';
import type { Reference } from '../image/reference';
import type { Descriptor } from '../image/manifest';
import { Readable } from 'node:stream';
import { mapLimit } from '../fs/limit';
import { log } from '../log';
import { outputError, outputFiles } from './output-files';
import type { RegistryClient } from '../registry';

export interface PushResult {
  digest: string;
  /** each destination, in the order given, with the digest it now names */
  pushed: Reference[];
}

/** Parallel uploads per repository: enough to hide latency, few enough for a 2-core agent. */
const BLOB_CONCURRENCY = 4;

/** Registries that refuse to move an immutable tag say so in these words (ECR, Harbor, GAR). */
const IMMUTABLE = /immutable|tag .*already exists|ImageTagAlreadyExists|TAG_INVALID/i;

export interface PushOptions {
  ignoreImmutableTagErrors?: boolean;
}

export async function pushImage(client: RegistryClient, img: Image, destinations: Reference[], opts: PushOptions = {}): Promise<PushResult> {
  return pushStored(client, { ...serializeImage(img), layers: img.layers }, destinations, opts);
}

/** The exact bytes to push: manifest and config as they are, and the layers they name. */
export type Pushable = Pick<StoredImage, 'manifestBody' | 'manifestDigest' | 'manifestMediaType' | 'configBody' | 'configDescriptor' | 'layers'>;

/** Push an image given as bytes (one just built, or one stored in an OCI layout or a tarball). */
export async function pushStored(client: RegistryClient, s: Pushable, destinations: Reference[], opts: PushOptions = {}): Promise<PushResult> {
  const repos = new Map<string, Reference>();
  for (const d of destinations) if (!repos.has(d.name())) repos.set(d.name(), d);
  // repositories already holding our blobs, per registry: later repositories mount from them
  const holders = new Map<string, string[]>();
  for (const ref of repos.values()) {
    const t0 = Date.now();
    const mountable = (extra?: { registry: string; repository: string }) => {
      const from = [...(holders.get(ref.registry) ?? [])];
      if (extra && extra.registry === ref.registry && extra.repository !== ref.repository) from.unshift(extra.repository);
      return from;
    };
    const results = await mapLimit([...s.layers], BLOB_CONCURRENCY, async (layer) => {
      const how = await client.pushBlob(ref, layer.descriptor, () => layer.open(), { mountFrom: mountable(layer.origin) });
      log.debug(`layer ${short(layer.descriptor)} ${how}`, { repository: ref.name() });
      return how;
    });
    await client.pushBlob(ref, s.configDescriptor, () => Readable.from([s.configBody]), { mountFrom: mountable() });
    const count = (k: string) => results.filter((r) => r === k).length;
    log.info(`pushed blobs to ${ref.name()}: ${count('uploaded')} uploaded, ${count('mounted')} mounted, ${count('exists')} already there (${secs(t0)})`);
    holders.set(ref.registry, [...(holders.get(ref.registry) ?? []), ref.repository]);
  }
  for (const d of destinations) {
    let digest: string;
    try {
      digest = await client.putManifest(d, s.manifestBody, s.manifestMediaType);
    } catch (e) {
      if (opts.ignoreImmutableTagErrors && IMMUTABLE.test((e as Error).message)) {
        log.warn(`${d.toString()}: the registry refused to move an immutable tag; continuing (--push-ignore-immutable-tag-errors)`);
        continue;
      }
      throw e;
    }
    if (digest !== s.manifestDigest) throw new Error(`registry ${d.registry} stored manifest ${digest}, expected ${s.manifestDigest}`);
    log.info(`pushed ${d.toString()}@${s.manifestDigest}`);
  }
  return { digest: s.manifestDigest, pushed: destinations };
}

export interface DigestFiles {
  digestFile?: string;
  imageNameWithDigestFile?: string;
  imageNameTagWithDigestFile?: string;
}

/** kaniko's --digest-file, --image-name-with-digest-file and --image-name-tag-with-digest-file. */
export function writeDigestFiles(files: DigestFiles, destinations: Reference[], digest: string): void {
  const contents: Record<string, string> = {
    '--digest-file': digest,
    '--image-name-with-digest-file': destinations.map((d) => `${d.name()}@${digest}\n`).join(''),
    '--image-name-tag-with-digest-file': destinations.map((d) => `${d.name()}:${d.tag ?? 'latest'}@${digest}\n`).join(''),
  };
  // only these three: `files` may be a build's whole options (its --tar-path is written elsewhere)
  for (const f of outputFiles(files).filter((o) => o.flag in contents)) {
    try {
      fs.writeFileSync(f.path, contents[f.flag]);
    } catch (err) {
      throw outputError(f, err);
    }
  }
}

const short = (d: Descriptor) => d.digest.slice(7, 19);
const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
