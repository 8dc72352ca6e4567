// kaniko's warmer: fetch base images into --cache-dir (one OCI image layout, see base-cache.ts)
// so that builds with the same --cache-dir read their FROM images locally.
import * as fs from 'node:fs';
import { parseDockerfile } from '../../dockerfile';
import { expandWord } from '../../dockerfile/expand';
import { formatPlatform, type Platform } from '../../image/platform';
import { parseReference, type Reference } from '../../image/reference';
import { UserError, log } from '../../log';
import type { RegistryClient } from '../../registry';
import { warmBaseImage } from './base-cache';

export interface WarmOptions {
  images: string[];
  dockerfile?: string;
  buildArgs: Record<string, string>;
  cacheDir: string;
  force: boolean;
  platform: Platform;
  client: RegistryClient;
}

/** The images a Dockerfile's FROM lines name (global ARGs expanded), skipping stages and scratch. */
export function dockerfileBaseImages(file: string, buildArgs: Record<string, string>): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`--dockerfile ${file}: cannot read it: ${(e as Error).message}`);
  }
  const parsed = parseDockerfile(text, file);
  const globals = new Map<string, string | undefined>();
  const lookup = (n: string) => globals.get(n);
  for (const a of parsed.globalArgs) {
    for (const d of a.args) globals.set(d.name, d.name in buildArgs ? buildArgs[d.name] : d.value === undefined ? undefined : expandWord(d.value, lookup, parsed.escape));
  }
  const names = new Set<string>();
  const stageNames = new Set<string>();
  const out: string[] = [];
  for (const s of parsed.stages) {
    const image = expandWord(s.baseImage, lookup, parsed.escape);
    if (image && image !== 'scratch' && !stageNames.has(image.toLowerCase()) && !names.has(image)) {
      names.add(image);
      out.push(image);
    }
    if (s.name) stageNames.add(s.name);
  }
  return out;
}

/** Fetch every image; returns how many were fetched (not already cached). */
export async function warm(o: WarmOptions): Promise<number> {
  const wanted = [...o.images, ...(o.dockerfile ? dockerfileBaseImages(o.dockerfile, o.buildArgs) : [])];
  if (wanted.length === 0) throw new UserError('drydock warm: nothing to fetch: give at least one --image (or a --dockerfile with FROM lines)', { exitCode: 2 });
  const refs: Reference[] = wanted.map((w) => {
    try {
      return parseReference(w);
    } catch (e) {
      throw new UserError(`invalid --image "${w}": ${(e as Error).message}`);
    }
  });
  fs.mkdirSync(o.cacheDir, { recursive: true });
  let fetched = 0;
  for (const ref of refs) {
    const t0 = Date.now();
    const r = await warmBaseImage(o.cacheDir, o.client, ref, o.platform, { force: o.force });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (r.fetched) {
      fetched++;
      log.info(`cached ${ref.toString()} (${formatPlatform(r.platform)}) as ${r.digest}: ${r.layers} layers in ${secs}s`);
    } else {
      log.info(`${ref.toString()} (${formatPlatform(r.platform)}) is already cached as ${r.digest}; --force fetches it again`);
    }
  }
  return fetched;
}

