// Test images made on the fly: a one-file gzip layer, its config and manifest, as bytes + descriptors.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import type { Descriptor, ImageManifest } from '../../../src/image/manifest';
import { serializeManifest } from '../../../src/image/manifest';
import * as mt from '../../../src/image/mediatypes';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export interface TestImage {
  layer: Buffer;
  layerDescriptor: Descriptor;
  config: Buffer;
  configDescriptor: Descriptor;
  manifest: Buffer;
  manifestMediaType: string;
}

async function tarOf(name: string, content: Buffer): Promise<Buffer> {
  const pack = tarStream.pack();
  pack.entry({ name, size: content.length, mode: 0o644, mtime: new Date(0) }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A unique small image (random file content), Docker or OCI flavoured. */
export async function makeTestImage(flavour: 'docker' | 'oci' = 'docker', size = 4096): Promise<TestImage> {
  const tar = await tarOf('hello.txt', randomBytes(size));
  const layer = gzipSync(tar);
  const layerDescriptor: Descriptor = { mediaType: flavour === 'oci' ? mt.OCI_LAYER_GZIP : mt.DOCKER_LAYER_GZIP, digest: sha(layer), size: layer.length };
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['cat', '/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [sha(tar)] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'drydock test' }],
  }));
  const configDescriptor: Descriptor = { mediaType: flavour === 'oci' ? mt.OCI_CONFIG : mt.DOCKER_CONFIG, digest: sha(config), size: config.length };
  const manifestMediaType = flavour === 'oci' ? mt.OCI_MANIFEST : mt.DOCKER_MANIFEST;
  const m: ImageManifest = { schemaVersion: 2, mediaType: manifestMediaType, config: configDescriptor, layers: [layerDescriptor] };
  return { layer, layerDescriptor, config, configDescriptor, manifest: serializeManifest(m), manifestMediaType };
}

import { pushBaseImages, startRegistry, type Registry, type RegistryMode } from '../../support/testbed';
import { StaticKeychain } from '../../../src/credentials/keychain';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry';

const seeded = new Map<string, Promise<Registry>>();

/** A registry of `mode` with the busybox base images pushed (once per process). */
export function seededRegistry(mode: RegistryMode): Promise<Registry> {
  let p = seeded.get(mode);
  if (!p) {
    p = startRegistry(mode).then(async (reg) => {
      await pushBaseImages(reg);
      return reg;
    });
    seeded.set(mode, p);
  }
  return p;
}

/** A client with the registry's credentials and CA, and quick retries. */
export function clientFor(reg: Registry, extra: RegistryClientOptions = {}): RegistryClient {
  const keychain = reg.user ? new StaticKeychain({ [reg.host]: { username: reg.user, password: reg.pass } }) : undefined;
  return new RegistryClient({
    keychain,
    registryCertificates: reg.caFile ? { [reg.host]: reg.caFile } : undefined,
    retryBaseDelayMs: 10,
    ...extra,
  });
}
