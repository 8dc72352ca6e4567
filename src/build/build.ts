// The executor: context + Dockerfile → stages → image → destinations. Each step is logged with its
// time; the closing summary names digest, size and layers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDockerfile, type LoadedDockerfile } from './dockerfile-source';
import { parseDockerfile } from '../dockerfile';
import { expandWord } from '../dockerfile/expand';
import type { Instruction, Stage } from '../dockerfile/types';
import { locate } from '../dockerfile/errors';
import { openContext } from '../context/context';
import { loadDockerignore } from '../context/dockerignore';
import { createKeychain } from '../credentials';
import { editConfig, imageSize, serializeImage, type Image } from '../image/image';
import { DOCKER_MANIFEST, OCI_MANIFEST } from '../image/mediatypes';
import { defaultPlatform, parsePlatform, formatPlatform, type Platform } from '../image/platform';
import type { Reference } from '../image/reference';
import { writeDockerArchive } from '../image/writers/docker-archive';
import { writeOciLayout } from '../image/writers/oci-layout';
import { UserError, log, progressReporter } from '../log';
import { RegistryClient } from '../registry';
import { BlobStore } from './blob-store';
import { checkedAgainstDiffId, resolveBaseImage, type ResolvedBase } from './base-image';
import * as meta from './instructions/metadata';
import { add, copy, type SourceRoots } from './instructions/copy';
import { bindMountsDigest, runInstruction } from './instructions/run';
import type { BuildOptions } from './options';
import { outputFiles, prepareOutputDirs, writingOutput } from './output-files';
import { pushImage, writeDigestFiles } from './push';
import { parseDestinations } from './destinations';
import { findStage, hasRun, hostRootStage, layeredStages, neededStages } from './plan';
import { probeOverlay } from './snapshot';
import { StageBuilder, type StageEnv } from './stage';
import { ArgScope, platformArgs } from './variables';
import { extractLayer } from '../fs/extract';
import { cachedStep, openLayerCache, stageParentKey, StepCache, type StepInputs } from './cache';
import { chooseIsolation, defaultIgnorePaths, type Isolation } from './isolation';
import { extractionTools, hostProgram } from './isolation/host-tools';
import { onInterrupt } from './interrupt';
import { WorkDirGuard } from './work-dir-guard';

export interface BuildResult {
  digest: string;
  image: Image;
  destinations: Reference[];
  seconds: number;
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  // The work dir is always a fresh one of our own, removed afterwards (so --cleanup has nothing
  // more to do): in --kaniko-dir / KANIKO_DIR when given, which may hold other things (kaniko's
  // /kaniko holds the executor and .docker), else in TMPDIR
  const parent = opts.workDir ? path.resolve(opts.workDir) : os.tmpdir();
  fs.mkdirSync(parent, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(parent, 'drydock-build-'));
  const guard = new WorkDirGuard(workDir);
  const forget = onInterrupt(() => guard.discardNow());
  try {
    return await buildIn(opts, workDir, started);
  } finally {
    forget();
    await guard.discard();
  }
}

function registryClient(opts: BuildOptions): RegistryClient {
  return new RegistryClient({
    keychain: createKeychain(),
    insecure: opts.insecure,
    insecurePull: opts.insecurePull,
    insecureRegistries: opts.insecureRegistries,
    skipTlsVerify: opts.skipTlsVerify,
    skipTlsVerifyPull: opts.skipTlsVerifyPull,
    skipTlsVerifyRegistries: opts.skipTlsVerifyRegistries,
    registryCertificates: opts.registryCertificates,
    registryClientCerts: opts.registryClientCerts,
    mirrors: opts.registryMirrors,
    registryMap: opts.registryMaps,
    skipDefaultRegistryFallback: opts.skipDefaultRegistryFallback,
    retries: { pull: opts.imageDownloadRetry, push: opts.pushRetry },
    log: log.child({ component: 'registry' }),
    onProgress: progressReporter(log),
  });
}

function createdTime(opts: BuildOptions): string {
  if (opts.sourceDateEpoch !== undefined) return new Date(opts.sourceDateEpoch * 1000).toISOString();
  if (opts.reproducible) return new Date(0).toISOString();
  return new Date().toISOString();
}

async function buildIn(opts: BuildOptions, workDir: string, started: number): Promise<BuildResult> {
  const destinations = parseDestinations(opts.destinations);
  await prepareOutputDirs(outputFiles(opts));
  const ctx = await openContext(opts.context, workDir, opts.contextSubPath, {
    s3Get: async (url) => (require('../aws/s3') as typeof import('../aws/s3')).getObjectStream(url),
    git: hostProgram('git'),
    gitOptions: opts.gitOptions,
  });
  const df: LoadedDockerfile = loadDockerfile(opts.dockerfile, ctx.dir);
  const parsed = parseDockerfile(df.text, df.displayName);
  if (parsed.syntax) log.info(`note: "# syntax=${parsed.syntax}" is ignored: drydock has its own Dockerfile front end`);
  for (const w of parsed.warnings) log.warn(w);

  const client = registryClient(opts);
  let succeeded = false;
  try {
    // checked before any step runs, but alongside the base's resolution, not before it
    const pushAccess = !opts.noPush && !opts.skipPushPermissionCheck
      ? Promise.all(destinations.map((d) => client.checkPushAccess(d)))
      : undefined;
    pushAccess?.catch(() => undefined); // awaited below, unless the build failed before
    const platform: Platform = opts.customPlatform ? parsePlatform(opts.customPlatform) : defaultPlatform();
    const automatic = platformArgs(platform, defaultPlatform());
    const env: StageEnv = {
      opts, blobs: new BlobStore(path.join(workDir, 'blobs')), workDir, platform,
      file: df.displayName, escape: parsed.escape, created: createdTime(opts),
      isolation: lazyIsolation(opts),
      compression: layerCompressionFor(opts, destinations),
    };
    const steps = new StepCache(openLayerCache(opts, client, env.blobs), opts);
    const globals = new ArgScope(opts.buildArgs, automatic, null);
    for (const a of parsed.globalArgs) {
      try {
        // global ARGs see only each other (and the automatic platform args)
        meta.arg({ args: globals, expand: (w) => expandWord(w, (n) => globals.get(n), parsed.escape) }, a);
      } catch (e) {
        throw locate(e, df.displayName, a.line);
      }
    }
    const target = opts.target ? findStage(parsed.stages, opts.target, df.displayName) : parsed.stages[parsed.stages.length - 1];
    const needed = neededStages(parsed.stages, target.index, globals, parsed.escape, opts.skipUnusedStages);
    const layered = layeredStages(parsed.stages, target.index, needed, globals, parsed.escape);
    const neededStagesInOrder = parsed.stages.filter((s) => needed.has(s.index));
    // stages without RUN answer isDir from layer paths: remember what unpacking saw only for them
    if (neededStagesInOrder.some((s) => !hasRun(s))) env.layerPaths = new Map();
    // one resolution per image and platform: stages FROM the same tag get the same image
    const resolvedBases = new Map<string, Promise<ResolvedBase>>();
    const builders = new Map<number, StageBuilder>();
    // The isolation's probes (child processes) and the first base's resolution (the network) go
    // on at once; so does the overlay probe where a RUN will be snapshotted.
    const firstStage = neededStagesInOrder[0];
    const firstBase = stageBase(firstStage, builders, parsed.stages, globals, env, client, resolvedBases);
    firstBase.catch(() => undefined); // awaited in the loop below, unless the build failed before
    if (neededStagesInOrder.some(hasRun)) {
      const snapshots = neededStagesInOrder.some((s) => hasRun(s) && (steps.cache || layered.has(s.index)));
      env.isolation().then((iso) => (iso.name === 'chroot' && snapshots ? probeOverlay(workDir) : null)).catch(() => undefined);
    }
    const ignore = await loadDockerignore(ctx.dir, df.path);
    await pushAccess;
    const hostRootStage = await chooseHostRootStage(neededStagesInOrder, env, df.displayName);
    // the caches this build reads and writes are the executor's, not the image's, like the work dir
    const caches = [opts.cacheDir, opts.cacheRepo?.startsWith('oci:') ? opts.cacheRepo.slice(4) : undefined]
      .filter((p): p is string => !!p).map((p) => path.resolve(p));
    const hostRoot = hostRootStage === undefined ? undefined : { ignore: defaultIgnorePaths(process.env, [...opts.ignorePaths, workDir, ctx.dir, ...caches]) };
    const imageRoots = new Map<string, { root: string; xattrFree: boolean }>();
    const totalSteps = parsed.stages.filter((s) => needed.has(s.index)).reduce((n, s) => n + 1 + s.instructions.length, 0);
    let step = 0;
    const timings: Array<{ text: string; ms: number }> = [];

    for (const stage of parsed.stages) {
      if (!needed.has(stage.index)) continue;
      const t0 = Date.now();
      step++;
      const base = stage === firstStage ? await firstBase : await stageBase(stage, builders, parsed.stages, globals, env, client, resolvedBases);
      log.info(`STEP ${step}/${totalSteps}: ${stage.from.text}`);
      const runs = stage.instructions.some((i) => i.kind === 'run');
      const sb = new StageBuilder(stage.index, stage.name, base.image, env, globals, automatic, stage.index === hostRootStage ? hostRoot : undefined, runs);
      if (steps.cache) sb.steps = steps;
      // a stage that only lends files needs no layers, unless they are cached for the next build
      else if (!layered.has(stage.index) && stage.index !== hostRootStage) {
        sb.filesOnly = true;
        log.debug(`stage ${stage.name ?? stage.index}: only lends files: its steps change its root in place, without snapshots or layers`);
      }
      sb.cacheKey = base.cacheKey;
      builders.set(stage.index, sb);
      timings.push({ text: stage.from.text, ms: Date.now() - t0 });
      const roots: SourceRoots = {
        contextDir: ctx.dir,
        contextFilter: { excluded: (rel, isDir) => ignore.matches(rel, isDir), excludesNothing: ignore.patterns.length === 0 },
        fromRoot: (name, where) => fromRoot(name, where, stage, parsed.stages, builders, imageRoots, env, client),
      };
      const state = { cmdSet: false };
      await runOnbuildTriggers(sb, roots, state, df.displayName);
      for (const instr of stage.instructions) {
        step++;
        const t1 = Date.now();
        log.info(`STEP ${step}/${totalSteps}: ${instr.text}`);
        try {
          await cachedStep(sb, instr, () => execute(sb, instr, roots, state), stepInputs(sb, instr, roots));
        } catch (e) {
          throw locate(e, df.displayName, instr.line);
        }
        const ms = Date.now() - t1;
        timings.push({ text: instr.text, ms });
        if (ms >= 1000) log.info(`  done in ${(ms / 1000).toFixed(1)}s`);
      }
      await sb.finishStage();
    }
    const unused = ArgScope.unused(opts.buildArgs, [globals, ...[...builders.values()].map((b) => b.args)]);
    if (unused.length) log.warn(`build arguments not consumed by any ARG: ${unused.join(', ')}`);

    let image = builders.get(target.index)!.image;
    image = editConfig(image, (c, file) => {
      if (Object.keys(opts.labels).length) c.Labels = { ...(c.Labels ?? {}), ...opts.labels };
      file.created = env.created;
    });
    image = withFormat(image, opts);
    await steps.flush();
    if (steps.cache) log.info(`layer cache: ${steps.hits} hit(s), ${steps.misses} miss(es)`);
    const s = serializeImage(image);
    await writeOutputs(opts, image, destinations, client, s.manifestDigest);
    const seconds = (Date.now() - started) / 1000;
    summary(image, s.manifestDigest, destinations, timings, seconds, platform);
    const result = { digest: s.manifestDigest, image, destinations, seconds };
    succeeded = true;
    return result;
  } finally {
    // a failed build does not wait for downloads still running (base layers fetched ahead)
    await client.close(!succeeded);
  }
}

/**
 * Compressing costs more than anything else for big files, and only pays off on a network:
 * `auto` compresses when the image (or its cache) is pushed, and leaves layers of local outputs
 * (--tar-path, --oci-layout-path) uncompressed, as docker save and buildah's storage do.
 */
export function layerCompressionFor(opts: BuildOptions, destinations: Reference[]): 'gzip' | 'none' {
  if (opts.compression === 'zstd') {
    throw new UserError(`--compression=zstd needs Node.js 22.15 or later (this is ${process.version}): use --compression=gzip`);
  }
  if (opts.compression !== 'auto') return opts.compression;
  const pushes = !opts.noPush && destinations.length > 0;
  const pushesCache = opts.cache && !opts.noPushCache;
  return pushes || pushesCache ? 'gzip' : 'none';
}

function lazyIsolation(opts: BuildOptions): () => Promise<Isolation> {
  let chosen: Promise<Isolation> | undefined;
  return () => {
    chosen ??= chooseIsolation(opts.isolation, { force: opts.force }).then((iso) => {
      log.info(`RUN isolation: ${iso.describe()}`);
      return iso;
    });
    return chosen;
  };
}

/** The stage whose root is the host's `/` (plan.ts: hostRootStage), asking for the isolation only if a stage has RUN. */
async function chooseHostRootStage(stages: Stage[], env: StageEnv, file: string): Promise<number | undefined> {
  if (!stages.some(hasRun)) return undefined;
  return hostRootStage(stages, (await env.isolation()).name, file);
}

async function stageBase(
  stage: Stage, builders: Map<number, StageBuilder>, stages: Stage[], globals: ArgScope, env: StageEnv, client: RegistryClient,
  resolved: Map<string, Promise<ResolvedBase>>,
): Promise<{ image: Image; cacheKey: string }> {
  const where = `${env.file}:${stage.from.line}`;
  const lookup = (n: string) => globals.get(n);
  const name = expandWord(stage.baseImage, lookup, env.escape);
  if (!name) throw new UserError(`${where}: FROM names no image (the base "${stage.baseImage}" expanded to an empty string)`);
  const earlier = stages.find((s) => s.index < stage.index && s.name === name.toLowerCase());
  if (earlier) {
    const b = builders.get(earlier.index);
    if (!b) throw new UserError(`${where}: stage "${name}" was not built`);
    return { image: b.image, cacheKey: b.cacheKey };
  }
  const platform = stage.platform ? parsePlatform(expandWord(stage.platform, lookup, env.escape)) : env.platform;
  const key = `${name}\n${JSON.stringify(platform)}`;
  let pending = resolved.get(key);
  if (!pending) {
    // a stage that runs commands unpacks its base (unless the layer cache may spare it that)
    const unpacks = stage.instructions.some((i) => i.kind === 'run') && !env.opts.cache;
    pending = resolveBaseImage(name, platform, client, env.blobs, where, env.opts, unpacks);
    resolved.set(key, pending);
  }
  const r = await pending;
  return { image: r.image, cacheKey: stageParentKey(r.digest, platform) };
}

/** What a step's cache key needs from outside the stage: the files a RUN's bind mounts show it. */
function stepInputs(sb: StageBuilder, instr: Instruction, roots: SourceRoots): StepInputs {
  return instr.kind === 'run' ? { bindSources: () => bindMountsDigest(sb, instr, roots) } : {};
}

async function runOnbuildTriggers(sb: StageBuilder, roots: SourceRoots, state: { cmdSet: boolean }, file: string): Promise<void> {
  const triggers = sb.image.config.config?.OnBuild ?? [];
  if (!triggers.length) return;
  sb.image = editConfig(sb.image, (c) => {
    c.OnBuild = null; // triggers run once, in the first image built FROM the base
  });
  for (const t of triggers) {
    log.info(`  ONBUILD ${t}`);
    const parsed = parseDockerfile(`FROM scratch\n${t}\n`, `${file} (ONBUILD trigger of the base image)`);
    for (const instr of parsed.stages[0].instructions) await cachedStep(sb, instr, () => execute(sb, instr, roots, state), stepInputs(sb, instr, roots));
  }
}

async function execute(sb: StageBuilder, instr: Instruction, roots: SourceRoots, state: { cmdSet: boolean }): Promise<void> {
  switch (instr.kind) {
    case 'arg':
      meta.arg(sb, instr);
      return sb.noLayer(instr);
    case 'env': return meta.env(sb, instr);
    case 'label': return meta.label(sb, instr);
    case 'maintainer': return meta.maintainer(sb, instr);
    case 'workdir': return meta.workdir(sb, instr);
    case 'user': return meta.user(sb, instr);
    case 'expose': return meta.expose(sb, instr);
    case 'volume': return meta.volume(sb, instr);
    case 'stopsignal': return meta.stopsignal(sb, instr);
    case 'healthcheck': return meta.healthcheck(sb, instr);
    case 'shell': return meta.shell(sb, instr);
    case 'onbuild': return meta.onbuild(sb, instr);
    case 'cmd': return meta.cmd(sb, instr, state);
    case 'entrypoint': return meta.entrypoint(sb, instr, state);
    case 'copy': return copy(sb, instr, roots);
    case 'add': return add(sb, instr, roots);
    case 'run': return runInstruction(sb, instr, roots);
    case 'from': throw new UserError(`${sb.where(instr)}: unexpected FROM inside a stage`);
  }
}

/**
 * --image-format and --annotation: the manifest family (layers and config follow it when the
 * image is serialized), and annotations, which only OCI manifests carry: without --image-format
 * they make the image OCI.
 */
function withFormat(image: Image, opts: BuildOptions): Image {
  const annotated = Object.keys(opts.annotations).length > 0;
  if (annotated && opts.imageFormat === 'docker') throw new UserError('--annotation needs an OCI manifest, and --image-format=docker asks for a Docker one');
  const oci = opts.imageFormat === 'oci' || (annotated && opts.imageFormat === undefined);
  const manifestMediaType = oci ? OCI_MANIFEST : opts.imageFormat === 'docker' ? DOCKER_MANIFEST : image.manifestMediaType;
  if (annotated && image.manifestMediaType !== OCI_MANIFEST && opts.imageFormat === undefined) log.info('--annotation: writing an OCI manifest (Docker manifests carry no annotations)');
  return { ...image, manifestMediaType, ...(annotated ? { annotations: { ...opts.annotations } } : {}) };
}

/** The files behind COPY --from=NAME: an earlier stage (by name or index) or an image. */
async function fromRoot(
  name: string, where: string, current: Stage, stages: Stage[], builders: Map<number, StageBuilder>,
  imageRoots: Map<string, { root: string; xattrFree: boolean }>, env: StageEnv, client: RegistryClient,
): Promise<{ root: string; label: string; xattrFree?: boolean }> {
  const byName = stages.find((s) => s.name === name.toLowerCase());
  const byIndex = /^\d+$/.test(name) ? stages[Number(name)] : undefined;
  const stage = byName ?? byIndex;
  if (stage) {
    if (stage.index >= current.index) throw new UserError(`${where}: COPY --from=${name} refers to a stage that is not before this one`);
    const b = builders.get(stage.index);
    if (!b) throw new UserError(`${where}: COPY --from=${name}: that stage was not built`);
    return { root: await b.rootfs(), label: `stage ${name}` };
  }
  let known = imageRoots.get(name);
  if (!known) {
    const base = await resolveBaseImage(name, env.platform, client, env.blobs, where);
    const root = path.join(env.workDir, `image-${imageRoots.size}`, 'rootfs');
    await fs.promises.mkdir(root, { recursive: true });
    let xattrPaths = 0;
    for (const l of base.image.layers) xattrPaths += (await extractLayer(await l.open(), root, { ...extractionTools(), ...checkedAgainstDiffId(l) })).xattrPaths;
    // nothing but its layers ever writes there: without attributes in them, its files have none
    known = { root, xattrFree: xattrPaths === 0 };
    imageRoots.set(name, known);
  }
  return { root: known.root, label: `image ${name}`, xattrFree: known.xattrFree };
}

async function writeOutputs(opts: BuildOptions, image: Image, destinations: Reference[], client: RegistryClient, digest: string): Promise<void> {
  const outputs: Array<Promise<unknown>> = [];
  if (opts.tarPath) {
    const f = { flag: '--tar-path', path: opts.tarPath };
    outputs.push(writingOutput(f, () => writeDockerArchive(f.path, image, destinations)).then(() => log.info(`wrote docker-archive ${f.path}`)));
  }
  if (opts.ociLayoutPath) {
    const f = { flag: '--oci-layout-path', path: opts.ociLayoutPath };
    const tag = destinations.find((d) => d.tag)?.tag ?? 'latest';
    outputs.push(writingOutput(f, () => writeOciLayout(f.path, image, tag)).then((d) => log.info(`wrote OCI layout ${f.path} (ref ${tag}${d.digest !== digest ? `, as OCI manifest ${d.digest}` : ''})`)));
  }
  await Promise.all(outputs);
  if (!opts.noPush) await pushImage(client, image, destinations, { ignoreImmutableTagErrors: opts.pushIgnoreImmutableTagErrors });
  else if (destinations.length) log.info(`--no-push: not pushing ${destinations.map((d) => d.toString()).join(', ')}`);
  writeDigestFiles(opts, destinations, digest);
}

function summary(image: Image, digest: string, destinations: Reference[], timings: Array<{ text: string; ms: number }>, seconds: number, platform: Platform): void {
  const mb = (imageSize(image) / 1e6).toFixed(1);
  log.info('');
  log.info(`built ${formatPlatform(platform)} image ${digest}`);
  log.info(`  size ${mb} MB (layer blobs), ${image.layers.length} layers, ${seconds.toFixed(1)}s`);
  for (const d of destinations) log.info(`  ${d.toString()}`);
  log.info('  time per step:');
  for (const t of timings) log.info(`    ${(t.ms / 1000).toFixed(2).padStart(7)}s  ${t.text.length > 70 ? t.text.slice(0, 67) + '...' : t.text}`);
}
