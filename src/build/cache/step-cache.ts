// The layer cache as the stage loop sees it: which steps are cached, their keys, lookups that turn
// cache trouble into a miss (a broken cache must never break a build; kaniko does the same), and
// stores that run in the background while the build goes on, awaited by flush() before the
// build's outputs are written.
import * as path from 'node:path';
import type { Instruction } from '../../dockerfile/types';
import type { Image, Layer } from '../../image/image';
import { describeError, log } from '../../log';
import type { BuildOptions } from '../options';
import type { ArgScope } from '../variables';
import { cacheKey, instructionText, type CacheKeyParts } from './key';
import type { CachedLayer, CacheMeta, LayerCache } from './types';

export type LayerStepKind = 'run' | 'copy' | 'add';

// --compression is not among them: `auto` means different things in different builds, so the key
// takes the compression the stage actually uses (StepState.env)
type KeyOptions = Pick<BuildOptions, 'cacheCopyLayers' | 'cacheRunLayers' | 'reproducible' | 'sourceDateEpoch' | 'compressionLevel' | 'ignorePaths'>;

/** --ignore-path and --ignore-var-run as a set: what RUN snapshots leave out of their layers. */
function ignoredPaths(paths: readonly string[]): string {
  return JSON.stringify([...new Set(paths.map((p) => path.posix.resolve('/', p)))].sort());
}

/** What a step's key reads from its stage (StageBuilder has both). */
export interface StepState {
  args: Pick<ArgScope, 'entries'>;
  image: Image;
  /** how the stage compresses new layers (--compression with `auto` resolved) */
  env: { compression: string };
}

export interface StepExtras {
  /** COPY/ADD: digestEntries() of the planned entries */
  sources?: string;
  /** expanded --chown/--chmod/--from/--checksum/--exclude values */
  flags?: Record<string, string | undefined>;
}

export class StepCache {
  private readonly pending = new Set<Promise<void>>();
  hits = 0;
  misses = 0;

  constructor(readonly cache: LayerCache | null, private readonly opts: KeyOptions) {}

  /** Are layers of this kind looked up and stored? (--cache-run-layers, --cache-copy-layers) */
  covers(kind: LayerStepKind): boolean {
    if (!this.cache) return false;
    return kind === 'run' ? this.opts.cacheRunLayers : this.opts.cacheCopyLayers;
  }

  /** The key of `instr` in `state`, chained to `parent`. */
  keyFor(parent: string, instr: Instruction, state: StepState, extras: StepExtras = {}): string {
    const heredocs = 'heredocs' in instr ? instr.heredocs : [];
    const parts: CacheKeyParts = {
      parent,
      instruction: instructionText(instr.text, heredocs),
      args: Object.fromEntries(state.args.entries()),
      env: state.image.config.config?.Env ?? [],
      sources: extras.sources,
      flags: extras.flags,
      layerOptions: {
        reproducible: String(this.opts.reproducible),
        sourceDateEpoch: this.opts.sourceDateEpoch === undefined ? undefined : String(this.opts.sourceDateEpoch),
        // a hit must give the bytes a miss would make: a gzip layer stored by a build that pushes
        // is no answer for one that writes uncompressed layers (the image digest would depend on
        // what the cache holds)
        compression: state.env.compression,
        compressionLevel: this.opts.compressionLevel === undefined ? undefined : String(this.opts.compressionLevel),
        // a RUN's layer lacks what these name: a hit must come from a build that left out the same
        ignorePaths: ignoredPaths(this.opts.ignorePaths),
      },
    };
    return cacheKey(parts);
  }

  /** The cached layer for `key`, or undefined (also when the cache fails: logged, then a miss). */
  async lookup(key: string, where: string): Promise<CachedLayer | undefined> {
    if (!this.cache) return undefined;
    const t0 = Date.now();
    try {
      const hit = await this.cache.get(key);
      if (hit) {
        this.hits++;
        log.info(`  cache hit ${key.slice(0, 12)}: layer ${hit.layer.descriptor.digest.slice(7, 19)} (${Date.now() - t0} ms)`);
      } else {
        this.misses++;
        log.info(`  no cached layer for ${key.slice(0, 12)}`);
      }
      return hit;
    } catch (e) {
      this.misses++;
      log.warn(`${where}: cannot read the ${this.cache.description} (${describeError(e)}); building the step`);
      return undefined;
    }
  }

  /** Store `layer` under `key` in the background; failures are logged, never fatal. */
  store(key: string, layer: Layer, meta: CacheMeta, where: string): void {
    const cache = this.cache;
    if (!cache) return;
    const p = cache.put(key, layer, meta).then(
      () => log.debug(`stored layer ${layer.descriptor.digest.slice(7, 19)} as ${key.slice(0, 12)} in the ${cache.description}`),
      (e: unknown) => log.warn(`${where}: cannot store the layer in the ${cache.description}: ${describeError(e)}`),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Wait for every background store (call before the build's blob store goes away). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
