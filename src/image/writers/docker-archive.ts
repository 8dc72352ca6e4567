// Write an image as a docker-archive tarball (what `docker save` produces and `docker load` /
// `podman load` read): manifest.json, the config as <hex>.json and each layer blob as is.
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import type { Image } from '../image';
import { serializeImage } from '../image';
import type { Reference } from '../reference';

/** `tags`: references with a tag (digest-only references cannot be named in RepoTags). */
export async function writeDockerArchive(file: string, img: Image, tags: Reference[]): Promise<void> {
  const s = serializeImage(img);
  const hex = (d: string) => d.split(':')[1];
  const configName = `${hex(s.configDescriptor.digest)}.json`;
  const layerNames = img.layers.map((l) => `${hex(l.descriptor.digest)}.tar${l.descriptor.mediaType.endsWith('gzip') ? '.gz' : l.descriptor.mediaType.endsWith('zstd') ? '.zst' : ''}`);
  const manifest = [
    {
      Config: configName,
      RepoTags: tags.filter((t) => t.tag).map((t) => `${t.registry}/${t.repository}:${t.tag}`),
      Layers: layerNames,
    },
  ];
  // opened first: a path that cannot be written fails here, before any packing
  const handle = await fs.promises.open(file, 'w');
  const pack = tar.pack();
  const out = pipeline(pack, handle.createWriteStream());
  // a write error ends the pipeline and destroys the pack: every wait below also ends with it
  const broken = out.then(() => new Promise<never>(() => undefined));
  broken.catch(() => undefined);
  const until = <T>(p: Promise<T>) => Promise.race([p, broken]);
  const entry = (name: string, body: Buffer) =>
    until(new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644, mtime: new Date(0) }, body, (e) => (e ? reject(e) : resolve()))));
  await entry(configName, s.configBody);
  const seen = new Set<string>();
  for (let i = 0; i < img.layers.length; i++) {
    if (seen.has(layerNames[i])) continue; // the same blob twice in one image is stored once
    seen.add(layerNames[i]);
    const layer = img.layers[i];
    const src = await layer.open();
    await until(new Promise<void>((resolve, reject) => {
      const w = pack.entry({ name: layerNames[i], size: layer.descriptor.size, mode: 0o644, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve()));
      w.on('error', reject);
      src.on('error', reject);
      src.pipe(w);
    })).catch((err: unknown) => {
      src.destroy();
      throw err;
    });
  }
  await entry('manifest.json', Buffer.from(JSON.stringify(manifest)));
  pack.finalize();
  await out;
}
