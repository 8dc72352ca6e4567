// Read the one image of a docker-archive tarball (`docker save`, `podman save`, our --tar-path):
// manifest.json names the config and the layer files. Its members are copied out once into
// `workDir`, then each layer is read once more: its uncompressed digest is checked against the
// config's diff_ids while layers stored uncompressed are gzipped for the registry (as `docker
// push` does); compressed ones are pushed as they are. The config keeps its exact bytes (the image ID stays); the manifest is made
// here (Docker schema2, or OCI when a layer is zstd).
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressionOfHead, decompressIfNeeded } from '../../fs/extract';
import { HashStream } from '../../fs/hash';
import { ParallelGzip } from '../../fs/parallel-gzip';
import { readTar } from '../../fs/tar-reader';
import { UserError } from '../../log';
import { sha256Digest } from '../digest';
import type { Layer } from '../image';
import { serializeManifest, type Descriptor, type ImageManifest } from '../manifest';
import * as mt from '../mediatypes';
import type { StoredImage } from './stored-image';

const GZIP_LEVEL = 6; // what docker push uses; the layers are made once here

interface ArchiveManifestEntry {
  Config?: unknown;
  Layers?: unknown;
}

async function compressionOf(file: string): Promise<ReturnType<typeof compressionOfHead>> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return compressionOfHead(b.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });

/** `opts.zstd`: the zstd program, for zstd layers where Node has no zstd of its own (before 22.15). */
export async function readDockerArchive(file: string, workDir: string, opts: { zstd?: string } = {}): Promise<StoredImage> {
  const members = new Map<string, string>();
  const links = new Map<string, string>();
  await fsp.mkdir(workDir, { recursive: true });
  const norm = (name: string) => path.posix.normalize(name.replace(/^(\.\/)+/, '')).replace(/\/$/, '');
  const archive = createReadStream(file);
  try {
    for await (const entry of readTar(archive)) {
      const name = norm(entry.header.name);
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        const out = path.join(workDir, `member-${members.size}`);
        await pipeline(Readable.from(entry), createWriteStream(out));
        members.set(name, out);
      } else if (entry.header.type === 'symlink' && entry.header.linkname) {
        links.set(name, path.posix.normalize(path.posix.join(path.posix.dirname(name), entry.header.linkname)));
      } else if (entry.header.type === 'link' && entry.header.linkname) {
        links.set(name, norm(entry.header.linkname));
      }
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: not a readable docker-archive tarball (${(e as Error).message})`);
  } finally {
    archive.destroy(); // the reader stops at the end-of-archive marker: whatever follows stays unread
  }
  const member = (name: string, what: string): string => {
    let n = norm(name);
    for (let hops = 0; hops < 10 && !members.has(n) && links.has(n); hops++) n = links.get(n)!;
    const f = members.get(n);
    if (!f) throw new UserError(`${file}: manifest.json names ${what} "${name}", which the archive does not hold`);
    return f;
  };
  if (!members.has('manifest.json')) throw new UserError(`${file}: no manifest.json: not a docker-archive tarball (docker save, podman save, --tar-path)`);
  let entries: ArchiveManifestEntry[];
  try {
    entries = JSON.parse(await fsp.readFile(members.get('manifest.json')!, 'utf8')) as ArchiveManifestEntry[];
  } catch (e) {
    throw new UserError(`${file}: manifest.json is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(entries) || entries.length !== 1) {
    throw new UserError(`${file}: holds ${Array.isArray(entries) ? entries.length : 'no list of'} images; exactly one can be pushed`);
  }
  const { Config, Layers } = entries[0];
  if (typeof Config !== 'string' || !Array.isArray(Layers) || Layers.some((l) => typeof l !== 'string')) {
    throw new UserError(`${file}: manifest.json needs "Config" (a file name) and "Layers" (file names)`);
  }
  const configBody = await fsp.readFile(member(Config, 'the config'));
  let diffIds: string[];
  try {
    const cfg = JSON.parse(configBody.toString('utf8')) as { rootfs?: { diff_ids?: unknown } };
    diffIds = cfg.rootfs?.diff_ids as string[];
    if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string')) throw new Error('no rootfs.diff_ids');
  } catch (e) {
    throw new UserError(`${file}: the config ${Config} is not an image config (${(e as Error).message})`);
  }
  if (diffIds.length !== Layers.length) throw new UserError(`${file}: the config lists ${diffIds.length} layers (rootfs.diff_ids), manifest.json ${Layers.length}`);

  const layers: Layer[] = [];
  let anyZstd = false;
  for (const [i, name] of (Layers as string[]).entries()) {
    const src = member(name, `layer ${i + 1}`);
    const compression = await compressionOf(src);
    anyZstd ||= compression === 'zstd';
    const blob = compression === 'none' ? `${src}.gz` : src;
    const content = new HashStream(); // the tar: its diff_id
    const packed = new HashStream(); // the blob: its digest and size
    try {
      if (compression === 'none') {
        // one pass: the tar is hashed as it is gzipped, the gzip as it is written
        await pipeline(createReadStream(src), content, new ParallelGzip({ level: GZIP_LEVEL }), packed, createWriteStream(blob));
      } else {
        // one pass: the blob is hashed as it is read, its tar as it is decompressed
        const read = createReadStream(src);
        read.on('error', (e) => packed.destroy(e));
        await pipeline(await decompressIfNeeded(read.pipe(packed), opts.zstd), content, sink());
      }
    } catch (e) {
      throw new UserError(`layer ${i + 1} (${name}) of ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (content.digest !== diffIds[i]) throw new UserError(`layer ${i + 1} (${name}) of ${file}: its content hashes to ${content.digest}, the config says ${diffIds[i]}`);
    const descriptor: Descriptor = { mediaType: compression === 'zstd' ? 'zstd' : 'gzip', digest: packed.digest, size: packed.bytes };
    layers.push({ descriptor, diffId: diffIds[i], localFile: blob, open: async () => createReadStream(blob) });
  }
  const manifestMediaType = anyZstd ? mt.OCI_MANIFEST : mt.DOCKER_MANIFEST;
  for (const l of layers) l.descriptor.mediaType = mt.layerMediaType(manifestMediaType, l.descriptor.mediaType as 'gzip' | 'zstd');
  const configDescriptor: Descriptor = { mediaType: mt.configMediaType(manifestMediaType), digest: sha256Digest(configBody), size: configBody.length };
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: manifestMediaType, config: configDescriptor, layers: layers.map((l) => l.descriptor) };
  const manifestBody = serializeManifest(manifest);
  return { manifestBody, manifestDigest: sha256Digest(manifestBody), manifestMediaType, configBody, configDescriptor, layers, source: file };
}
