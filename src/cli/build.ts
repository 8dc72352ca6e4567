// `drydock build` / `executor`: kaniko's executor flags mapped onto BuildOptions. No build logic here.
import { Command, Option } from 'commander';
import { defaultBuildOptions, type BuildOptions } from '../build/options';
import { parseGitOptions } from '../context/git-source';
import { log, UserError } from '../log';
import {
  addLogFlags, addRegistryFlags, collect, configureLogging, intArg, keyValue, newCommand, parseBool, parseCommand, registryOptions,
} from './flags';

export { parseBool } from './flags';

/** Go duration ("336h", "1h30m", "90s", "500ms") → seconds. */
export function parseGoDuration(s: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * unit[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== s.length || s.length === 0) {
    if (/^\d+$/.test(s)) return Number(s);
    throw new UserError(`invalid duration "${s}" for --${flag}: expected a Go duration such as 336h or 1h30m`);
  }
  return total;
}

/** --build-arg K=V, or --build-arg K to take the value from the environment (as docker build does). */
function buildArgs(entries: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf('=');
    if (i === 0) throw new UserError(`invalid value "${e}" for --build-arg: expected NAME=VALUE or NAME`);
    if (i < 0) {
      if (env[e] !== undefined) out[e] = env[e] as string;
    } else out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/** --secret id=mysecret,src=/path | id=token,env=TOKEN (BuildKit's syntax) */
function secrets(entries: string[]): BuildOptions['secrets'] {
  return entries.map((e) => {
    const kv: Record<string, string> = {};
    for (const part of e.split(',')) {
      const i = part.indexOf('=');
      if (i <= 0) throw new UserError(`invalid value "${e}" for --secret: expected id=ID,src=PATH or id=ID,env=VAR`);
      kv[part.slice(0, i)] = part.slice(i + 1);
    }
    const src = kv.src ?? kv.source;
    if (!kv.id) throw new UserError(`invalid value "${e}" for --secret: the id= key is required`);
    if (!src && !kv.env) kv.env = kv.id; // BuildKit: id alone means the env var of that name, else a file
    return { id: kv.id, src, env: kv.env };
  });
}

/** --ssh ID=SOCKET, or ID alone for $SSH_AUTH_SOCK (BuildKit's syntax, sockets only). */
function sshAgents(entries: string[], env: NodeJS.ProcessEnv): BuildOptions['ssh'] {
  return entries.map((e) => {
    const i = e.indexOf('=');
    const id = i < 0 ? e : e.slice(0, i);
    const socket = i < 0 ? env.SSH_AUTH_SOCK : e.slice(i + 1);
    if (!id) throw new UserError(`invalid value "${e}" for --ssh: expected ID or ID=SOCKET`);
    if (!socket) throw new UserError(`--ssh ${id}: SSH_AUTH_SOCK is not set: start an agent (ssh-agent; Jenkins' sshagent step) or give --ssh ${id}=SOCKET`);
    return { id, socket };
  });
}

/** --allow values; only BuildKit's security.insecure means anything to a RUN here. */
function allowed(entries: string[]): string[] {
  for (const e of entries) {
    if (e !== 'security.insecure') throw new UserError(`invalid value "${e}" for --allow: expected security.insecure`);
  }
  return entries;
}

export function buildCommand(): Command {
  const d = defaultBuildOptions();
  const cmd = newCommand('build', 'Build an image from a Dockerfile and push it (flag-compatible with kaniko\'s /kaniko/executor).')
    // inputs
    .option('-c, --context <path>', 'build context: directory, dir://DIR, tar://FILE, tar://stdin, FILE.tar[.gz], s3://BUCKET/KEY, https://URL', d.context)
    .option('--git <options>', 'for a git:// context: branch=NAME,single-branch=BOOL,recurse-submodules=BOOL,insecure-skip-tls=BOOL,depth=N (kaniko\'s)')
    .option('--context-sub-path <path>', 'sub-directory of the context to build from')
    .option('-f, --dockerfile <path>', 'Dockerfile, relative to the context or absolute', d.dockerfile)
    .option('--build-arg <NAME=VALUE>', 'build argument (repeatable); NAME alone takes the value from the environment', collect, [])
    .option('--target <stage>', 'build this stage (and the stages it needs), not the last one')
    .option('--custom-platform <os/arch[/variant]>', 'platform to build for and to select from multi-platform bases')
    // kaniko's executor still takes its first spelling (deprecated there)
    .addOption(new Option('--customPlatform <os/arch[/variant]>').hideHelp())
    .option('--skip-unused-stages [bool]', 'build only stages that the target depends on', parseBool('skip-unused-stages'))
    .option('--label <KEY=VALUE>', 'label to set on the image (repeatable)', collect, [])
    .option('--reproducible [bool]', 'strip timestamps so that the same input yields the same digest', parseBool('reproducible'))
    // outputs
    .option('-d, --destination <image>', 'image reference to push to (repeatable)', collect, [])
    .option('--no-push [bool]', 'build only; do not push (combine with --tar-path / --oci-layout-path)')
    .option('--tar-path <file>', 'also write the image as a docker-archive tarball (docker load / podman load)')
    .option('--oci-layout-path <dir>', 'also write the image into an OCI image layout directory')
    .option('--digest-file <file>', 'write the image digest to this file')
    .option('--image-name-with-digest-file <file>', 'write IMAGE@DIGEST for each destination to this file')
    .option('--image-name-tag-with-digest-file <file>', 'write IMAGE:TAG@DIGEST for each destination to this file')
    .option('--compression <auto|gzip|zstd|none>', 'layer compression; auto: gzip when pushing (image or cache), none for local outputs', d.compression)
    .option('--compression-level <n>', 'layer compression level', (v) => intArg(v, 'compression-level'))
    // registries
    .option('--insecure [bool]', 'push to plain-HTTP registries', parseBool('insecure'))
    .option('--skip-tls-verify [bool]', 'do not verify TLS certificates when pushing', parseBool('skip-tls-verify'));
  addRegistryFlags(cmd)
    .option('--push-retry <n>', 'retries for transient push failures (408/429/5xx, resets), with backoff (kaniko defaults to 0)', (v) => intArg(v, 'push-retry'), d.pushRetry)
    .option('--image-download-retry <n>', 'retries for transient pull failures, with backoff (kaniko defaults to 0)', (v) => intArg(v, 'image-download-retry'), d.imageDownloadRetry)
    .option('--image-fs-extract-retry <n>', 'accepted for kaniko compatibility (extraction is not retried: downloads are)', (v) => intArg(v, 'image-fs-extract-retry'))
    .option('--skip-push-permission-check [bool]', 'do not check push access before building', parseBool('skip-push-permission-check'))
    .option('--push-ignore-immutable-tag-errors [bool]', 'treat a refused push to an immutable tag as success', parseBool('push-ignore-immutable-tag-errors'))
    // RUN, snapshots, isolation
    .addOption(new Option('--isolation <mode>', 'where RUN executes: chroot (a private root), none (the kaniko way: root is /), auto').choices(['auto', 'chroot', 'none']).default(d.isolation))
    .addOption(new Option('--snapshot-mode <mode>', 'accepted for kaniko compatibility; snapshots always detect content changes').choices(['full', 'redo', 'time']).default(d.snapshotMode))
    .option('--single-snapshot [bool]', 'one layer per stage, taken at its end', parseBool('single-snapshot'))
    .option('--force-build-metadata [bool]', 'give every instruction a layer, an empty one for ENV, LABEL, … (kaniko\'s flag)', parseBool('force-build-metadata'))
    .option('--use-new-run [bool]', 'accepted for kaniko compatibility (always on)', parseBool('use-new-run'))
    .option('--ignore-path <path>', 'path never snapshotted or touched (repeatable)', collect, [])
    .option('--ignore-var-run [bool]', 'ignore /var/run when snapshotting (kaniko default true)', parseBool('ignore-var-run'))
    .option('--force [bool]', 'allow --isolation=none outside a container', parseBool('force'))
    .option('--secret <id=ID,src=PATH|env=VAR>', 'secret for RUN --mount=type=secret (repeatable)', collect, [])
    .addOption(new Option('--image-format <format>', 'manifest family of the image: docker or oci (default: the base image\'s)').choices(['docker', 'oci']))
    .option('--annotation <KEY=VALUE>', 'annotation of the image manifest (repeatable; makes the manifest OCI)', collect, [])
    .option('--ssh <id[=socket]>', 'SSH agent socket for RUN --mount=type=ssh (repeatable); "default" alone is $SSH_AUTH_SOCK', collect, [])
    .option('--allow <entitlement>', 'security.insecure: RUN --security=insecure keeps all capabilities (repeatable)', collect, [])
    // cache
    .option('--cache [bool]', 'use the layer cache', parseBool('cache'))
    .option('--cache-repo <repo>', 'cache repository (registry repository or oci:PATH)')
    .option('--cache-dir <dir>', 'base image cache directory (see `drydock warm`)', d.cacheDir)
    .option('--cache-ttl <duration>', 'cache entry lifetime, e.g. 336h')
    .option('--cache-copy-layers [bool]', 'cache COPY layers too', parseBool('cache-copy-layers'))
    .option('--cache-run-layers [bool]', 'cache RUN layers', parseBool('cache-run-layers'))
    .option('--no-push-cache [bool]', 'do not push cache layers')
    .option('--compressed-caching [bool]', 'accepted for kaniko compatibility', parseBool('compressed-caching'))
    // kaniko needs these because it builds in its own / (it unpacks only what a cache miss needs, and
    // deletes / between stages); stage roots here are private, so there is nothing to materialize or restore
    .option('--materialize [bool]', 'accepted for kaniko compatibility (nothing to do: stage roots are private)', parseBool('materialize'))
    .option('--preserve-context [bool]', 'accepted for kaniko compatibility (stages never delete the context)', parseBool('preserve-context'))
    // process
    .option('--kaniko-dir <dir>', 'where the build\'s working directory (stage roots, layers) is made, and removed afterwards (default: TMPDIR)')
    .option('--cleanup [bool]', 'accepted for kaniko compatibility (the working directory is always removed)', parseBool('cleanup'));
  return addLogFlags(cmd).addHelpText('after', `
Environment:
  DOCKER_CONFIG                 directory of the config.json with registry credentials
  SOURCE_DATE_EPOCH             with --reproducible, the time written instead of epoch 0
  KANIKO_DIR                    the work dir, as --kaniko-dir (kaniko reads it too)
  TMPDIR                        where the work dir goes unless --kaniko-dir or KANIKO_DIR says
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY   proxies, by Go's rules (as kaniko)
  SSL_CERT_FILE, SSL_CERT_DIR   CA certificates trusted besides Node's (and the host's bundle)
  DRYDOCK_REMOTE                a builder sidecar's socket: the build runs there (drydock serve)
  SSH_AUTH_SOCK                 the agent --ssh default relays to
  GIT_TOKEN, GIT_USERNAME, GIT_PASSWORD, GIT_PULL_METHOD   git build contexts (kaniko's)
  DRYDOCK_NO_USERNS=1           never run RUN steps in a user namespace
  DRYDOCK_SNAPSHOT_WALKERS=N    threads for the stat walk of a big root (1: no workers)
  DRYDOCK_FILE_WRITERS=N        threads creating the small files of a big layer (0: none)`);
}

/** Turn argv into BuildOptions (and configure logging); exported for tests. */
export function parseBuildArgs(args: string[], env: NodeJS.ProcessEnv = process.env): BuildOptions | null {
  const cmd = buildCommand();
  if (!parseCommand(cmd, args)) return null;
  const o = cmd.opts();
  configureLogging(o);
  const d = defaultBuildOptions();
  const noPushFlag = o.push === false || (typeof o.push === 'string' && parseBool('no-push')(o.push));
  const opts: BuildOptions = {
    ...d,
    context: o.context,
    contextSubPath: o.contextSubPath,
    gitOptions: o.git === undefined ? undefined : (parseGitOptions(o.git), o.git), // checked even when the context is not git
    dockerfile: o.dockerfile,
    destinations: o.destination,
    noPush: noPushFlag,
    tarPath: o.tarPath,
    ociLayoutPath: o.ociLayoutPath,
    digestFile: o.digestFile,
    imageNameWithDigestFile: o.imageNameWithDigestFile,
    imageNameTagWithDigestFile: o.imageNameTagWithDigestFile,
    buildArgs: buildArgs(o.buildArg, env),
    labels: keyValue(o.label, 'label'),
    target: o.target,
    customPlatform: o.customPlatform,
    reproducible: !!o.reproducible,
    sourceDateEpoch: env.SOURCE_DATE_EPOCH ? intArg(env.SOURCE_DATE_EPOCH, 'SOURCE_DATE_EPOCH (environment)') : undefined,
    skipUnusedStages: !!o.skipUnusedStages,
    ...transport(o),
    pushRetry: o.pushRetry,
    imageDownloadRetry: o.imageDownloadRetry,
    skipPushPermissionCheck: !!o.skipPushPermissionCheck,
    pushIgnoreImmutableTagErrors: !!o.pushIgnoreImmutableTagErrors,
    compression: compression(o.compression),
    compressionLevel: compressionLevel(o.compressionLevel, o.compression),
    isolation: o.isolation,
    snapshotMode: o.snapshotMode,
    singleSnapshot: !!o.singleSnapshot,
    forceBuildMetadata: !!o.forceBuildMetadata,
    ignorePaths: [...o.ignorePath, ...(o.ignoreVarRun === false ? [] : ['/var/run'])],
    force: !!o.force,
    allow: allowed(o.allow),
    imageFormat: o.imageFormat,
    annotations: keyValue(o.annotation, 'annotation'),
    ssh: sshAgents(o.ssh, env),
    secrets: secrets(o.secret),
    cache: !!o.cache,
    cacheRepo: o.cacheRepo,
    cacheDir: o.cacheDir,
    cacheTtlSeconds: o.cacheTtl ? parseGoDuration(o.cacheTtl, 'cache-ttl') : d.cacheTtlSeconds,
    cacheCopyLayers: !!o.cacheCopyLayers,
    cacheRunLayers: o.cacheRunLayers === undefined ? d.cacheRunLayers : !!o.cacheRunLayers,
    noPushCache: o.pushCache === false || (typeof o.pushCache === 'string' && parseBool('no-push-cache')(o.pushCache)),
    workDir: o.kanikoDir ?? (env.KANIKO_DIR || undefined),
    cleanup: !!o.cleanup,
  };
  if (!opts.noPush && opts.destinations.length === 0) {
    throw new UserError('no --destination given: pass at least one --destination, or --no-push (with --tar-path or --oci-layout-path to keep the image)', { exitCode: 2 });
  }
  return opts;
}

/** The registry flags in BuildOptions' names. */
function transport(o: Record<string, any>) {
  const t = registryOptions(o);
  return {
    insecure: !!t.insecure,
    insecurePull: !!t.insecurePull,
    insecureRegistries: t.insecureRegistries ?? [],
    skipTlsVerify: !!t.skipTlsVerify,
    skipTlsVerifyPull: !!t.skipTlsVerifyPull,
    skipTlsVerifyRegistries: t.skipTlsVerifyRegistries ?? [],
    registryCertificates: t.registryCertificates ?? {},
    registryClientCerts: t.registryClientCerts ?? {},
    registryMirrors: t.mirrors ?? [],
    registryMaps: t.registryMap ?? {},
    skipDefaultRegistryFallback: !!t.skipDefaultRegistryFallback,
  };
}

/** --compression-level within what the algorithm takes: gzip 0 to 9, zstd 1 to 22 (else zlib fails mid-build). */
function compressionLevel(level: number | undefined, algorithm: string): number | undefined {
  if (level === undefined) return undefined;
  const [min, max, name] = algorithm === 'zstd' ? [1, 22, 'zstd'] : [0, 9, 'gzip'];
  if (level < min || level > max) throw new UserError(`invalid value "${level}" for --compression-level: ${name} takes ${min} to ${max}`);
  return level;
}

function compression(v: string): BuildOptions['compression'] {
  if (v === 'auto' || v === 'gzip' || v === 'zstd' || v === 'none') return v;
  throw new UserError(`invalid value "${v}" for --compression: expected auto, gzip, zstd or none`);
}

export async function main(args: string[]): Promise<number> {
  // in an agent container beside a builder sidecar: the build runs there
  const remote = process.env.DRYDOCK_REMOTE;
  if (remote) return (require('../sidecar/client') as typeof import('../sidecar/client')).runRemoteBuild(remote, args);
  const opts = parseBuildArgs(args);
  if (!opts) return 0;
  log.debug(`node ${process.version}, ${(require('./start') as typeof import('./start')).startOrigin()}, ${Math.round(process.uptime() * 1000)} ms after node started`);
  const { build } = require('../build/build') as typeof import('../build/build');
  (require('../build/interrupt') as typeof import('../build/interrupt')).stopOnSignals();
  await build(opts);
  return 0;
}
