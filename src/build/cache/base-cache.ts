// --cache-dir: base images fetched ahead of time by `drydock warm`, read by FROM without a
// download. The choice (kaniko writes `<cache-dir>/<digest>` tarballs plus a manifest file):
// <cache-dir> is ONE OCI image layout. Each warmed (reference, platform) is an index.json entry
//   - ref name annotation: the normalized reference as warmed ("reg/repo:tag" or "reg/repo@sha256:…"),
//   - `platform`: the image's os/architecture/variant (from its config),
//   - org.drydock.base.index-digest: the index digest when the reference named a multi-platform index,
//   - org.drydock.base.warmed: when it was fetched (the cache TTL is measured from it).
// Manifest and config bytes are kept exactly as the registry served them, so the manifest digest
// (which layer cache keys chain from) is the same whether a base comes from here or the registry.
// Blobs are shared between images, and `skopeo inspect oci:<cache-dir>:<ref>` works on OCI entries.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mapLimit } from '../../fs/limit';
import type { Image, Layer } from '../../image/image';
import { parseConfig } from '../../image/config';
import type { Descriptor } from '../../image/manifest';
import { parseManifest } from '../../image/manifest';
import * as mt from '../../image/mediatypes';
import { formatPlatform, platformMatches, type Platform } from '../../image/platform';
import type { Reference } from '../../image/reference';
import { log } from '../../log';
import type { RegistryClient } from '../../registry';
import type { ResolvedBase } from '../base-image';
import { LayoutStore, REF_NAME } from './layout';

/** layers of a cached base hashed at once before it is used */
const VERIFY_CONCURRENCY = 2;

export const INDEX_DIGEST = 'org.drydock.base.index-digest';
export const WARMED = 'org.drydock.base.warmed';

export interface BaseCacheOptions {
  /** entries warmed longer ago than this are ignored (--cache-ttl); default: no limit */
  ttlSeconds?: number;
  now?: () => Date;
}

function platformOf(d: Descriptor): Platform | undefined {
  const p = d.platform;
  if (!p?.os || !p.architecture) return undefined;
  return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
}

/** The entries that answer `ref`: by digest (manifest or index digest) when it has one, else by name. */
function candidates(store: LayoutStore, ref: Reference): Descriptor[] {
  const all = store.readIndex().manifests;
  if (ref.digest) return all.filter((m) => m.digest === ref.digest || m.annotations?.[INDEX_DIGEST] === ref.digest);
  return all.filter((m) => m.annotations?.[REF_NAME] === ref.toString());
}

/**
 * The base image `ref` for `platform` from the cache dir, or undefined when it was not warmed (or
 * is incomplete or older than the TTL). Layers open from the cache dir, verified as they stream.
 */
export async function lookupCachedBase(cacheDir: string, ref: Reference, platform: Platform, o: BaseCacheOptions = {}): Promise<ResolvedBase | undefined> {
  const store = new LayoutStore(cacheDir);
  let entries: Descriptor[];
  try {
    entries = candidates(store, ref);
  } catch (e) {
    log.warn(`base image cache ${cacheDir} is unreadable (${(e as Error).message}); pulling ${ref.toString()}`);
    return undefined;
  }
  const now = (o.now ?? (() => new Date()))();
  const desc = [...entries].reverse().find((d) => {
    const p = platformOf(d);
    if (!p || !platformMatches(platform, p)) return false;
    if (o.ttlSeconds === undefined) return true;
    const warmed = Date.parse(d.annotations?.[WARMED] ?? '');
    return !Number.isNaN(warmed) && (now.getTime() - warmed) / 1000 <= o.ttlSeconds;
  });
  if (!desc) return undefined;
  const what = `cached base image ${ref.toString()} (${formatPlatform(platform)}) in ${cacheDir}`;
  try {
    const parsed = parseManifest(await store.readBlob(desc), desc.mediaType, `manifest of ${what}`);
    if (parsed.kind !== 'manifest') return undefined;
    const m = parsed.manifest;
    const config = parseConfig(await store.readBlob(m.config), `config of ${what}`);
    if (config.rootfs.diff_ids.length !== m.layers.length) return undefined;
    const missing = m.layers.find((l) => !store.hasBlob(l.digest));
    if (missing) {
      log.warn(`${what} lacks layer ${missing.digest}; pulling instead (run drydock warm --force to repair)`);
      return undefined;
    }
    // layers are hard-linked into outputs as they are: each must match its digest (size first)
    const bad = (await mapLimit(m.layers, VERIFY_CONCURRENCY, async (l) => {
      const why = await store.checkBlob(l);
      return why ? { digest: l.digest, why } : undefined;
    })).find((b) => b !== undefined);
    if (bad) {
      const removed = await store.discardBlob(bad.digest);
      log.warn(`${what} is damaged (layer ${bad.digest}: ${bad.why}); pulling instead (${removed ? 'the damaged blob was removed: drydock warm fetches it again' : 'run drydock warm --force to repair'})`);
      return undefined;
    }
    const layers: Layer[] = m.layers.map((d, i) => ({
      descriptor: d,
      diffId: config.rootfs.diff_ids[i],
      origin: { registry: ref.registry, repository: ref.repository },
      from: ref.toString(),
      localFile: store.blobPath(d.digest),
      open: async () => store.openBlob(d),
    }));
    const manifestMediaType = desc.mediaType === mt.OCI_MANIFEST ? mt.OCI_MANIFEST : mt.DOCKER_MANIFEST;
    const image: Image = { manifestMediaType, config, layers };
    log.info(`using ${what}: ${desc.digest}`);
    return { image, ref: ref.withDigest(desc.digest), digest: desc.digest };
  } catch (e) {
    log.warn(`${what} is damaged (${(e as Error).message}); pulling instead`);
    return undefined;
  }
}

export interface WarmResult {
  ref: Reference;
  digest: string;
  platform: Platform;
  /** false when the same manifest was already in the cache and --force was not given */
  fetched: boolean;
  layers: number;
}

/** Fetch `ref` for `platform` into the cache dir (what `drydock warm` does for each --image). */
export async function warmBaseImage(cacheDir: string, client: RegistryClient, ref: Reference, platform: Platform, o: { force?: boolean; now?: () => Date } = {}): Promise<WarmResult> {
  const store = new LayoutStore(cacheDir);
  const r = await client.resolveImage(ref, platform);
  const have: Platform = { os: r.config.os, architecture: r.config.architecture, ...(r.config.variant ? { variant: r.config.variant } : {}) };
  const refName = ref.toString();
  const sameEntry = (m: Descriptor) => {
    const p = platformOf(m);
    return m.annotations?.[REF_NAME] === refName && !!p && platformMatches(have, p) && platformMatches(p, have);
  };
  const existing = store.readIndex().manifests.find((m) => sameEntry(m) && m.digest === r.manifestDigest);
  const complete = existing && store.hasBlob(r.manifestDigest) && store.hasBlob(r.configDescriptor.digest) && r.layers.every((l) => store.hasBlob(l.digest));
  if (complete && !o.force) return { ref, digest: r.manifestDigest, platform: have, fetched: false, layers: r.layers.length };
  for (const d of r.layers) {
    if (o.force || !store.hasBlob(d.digest)) await store.writeBlobStream(d, () => client.openBlob(r.ref, d), o.force);
  }
  await store.writeBlobBytes(r.configDescriptor.digest, r.configBody);
  await store.writeBlobBytes(r.manifestDigest, r.manifestBody);
  const annotations: Record<string, string> = { [REF_NAME]: refName, [WARMED]: (o.now ?? (() => new Date()))().toISOString() };
  if (r.indexDigest) annotations[INDEX_DIGEST] = r.indexDigest;
  const desc: Descriptor = { mediaType: r.manifestMediaType, digest: r.manifestDigest, size: r.manifestBody.length, platform: have, annotations };
  await store.updateIndex(desc, sameEntry);
  return { ref, digest: r.manifestDigest, platform: have, fetched: true, layers: r.layers.length };
}

/**
 * What FROM should use with --cache-dir: kaniko asks the registry for the tag's current digest and
 * uses the cache only when it holds that digest, so a moved tag is never served stale. We do the
 * same with one HEAD request, and when the registry cannot be reached, fall back to the image as
 * it was warmed (said in the log): a build that would otherwise fail can still run offline.
 */
export async function lookupCachedBaseFor(cacheDir: string, ref: Reference, platform: Platform, client: RegistryClient, o: BaseCacheOptions = {}): Promise<ResolvedBase | undefined> {
  if (!fs.existsSync(path.join(cacheDir, 'index.json'))) return undefined; // nothing warmed: no registry round trip
  if (ref.digest) return lookupCachedBase(cacheDir, ref, platform, o);
  let digest: string | undefined;
  try {
    digest = (await client.headManifest(ref))?.digest;
  } catch (e) {
    const cached = await lookupCachedBase(cacheDir, ref, platform, o);
    if (cached) log.warn(`cannot reach the registry for ${ref.toString()} (${(e as Error).message}); using the cached image as warmed`);
    return cached;
  }
  if (!digest) return undefined;
  return lookupCachedBase(cacheDir, ref.withDigest(digest), platform, o);
}
