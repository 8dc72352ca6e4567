// Everything a build needs to know, independent of how it was asked for (CLI flags, Jenkins step,
// sidecar request). The CLI maps kaniko's flags onto this one-to-one.

export interface BuildOptions {
  /** build context: a directory, `dir://`, `tar://path`, a local .tar/.tar.gz, `s3://bucket/key`, `https://…/ctx.tar.gz` */
  context: string;
  /** sub-directory of the context to use as the context (kaniko --context-sub-path) */
  contextSubPath?: string;
  /** kaniko's --git options for a git:// context */
  gitOptions?: string;
  /** Dockerfile path: relative to the context, or absolute */
  dockerfile: string;
  destinations: string[];
  noPush: boolean;
  tarPath?: string;
  ociLayoutPath?: string;
  digestFile?: string;
  imageNameWithDigestFile?: string;
  imageNameTagWithDigestFile?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  customPlatform?: string;
  reproducible: boolean;
  /** seconds since the epoch used for created times when reproducible (SOURCE_DATE_EPOCH) */
  sourceDateEpoch?: number;
  skipUnusedStages: boolean;

  // registry access
  insecure: boolean;
  insecurePull: boolean;
  insecureRegistries: string[];
  skipTlsVerify: boolean;
  skipTlsVerifyPull: boolean;
  skipTlsVerifyRegistries: string[];
  registryCertificates: Record<string, string>;
  registryClientCerts: Record<string, string>;
  registryMirrors: string[];
  registryMaps: Record<string, string[]>;
  skipDefaultRegistryFallback: boolean;
  pushRetry: number;
  imageDownloadRetry: number;
  skipPushPermissionCheck: boolean;
  pushIgnoreImmutableTagErrors: boolean;

  // layers
  /** auto: gzip when the image leaves the machine (a push, a pushed cache), none otherwise */
  compression: 'auto' | 'gzip' | 'zstd' | 'none';
  compressionLevel?: number;

  // RUN and snapshots (executor part 2)
  isolation: 'auto' | 'chroot' | 'none';
  snapshotMode: 'full' | 'redo' | 'time';
  singleSnapshot: boolean;
  /** kaniko's --force-build-metadata: every instruction gets a layer, an empty one if it changed no file */
  forceBuildMetadata: boolean;
  ignorePaths: string[];
  force: boolean;
  secrets: Array<{ id: string; src?: string; env?: string }>;
  /** SSH agents for RUN --mount=type=ssh (--ssh ID=SOCKET; `default` is $SSH_AUTH_SOCK) */
  ssh: Array<{ id: string; socket: string }>;
  /** --image-format: the manifest family; default: the base image's (Docker for scratch) */
  imageFormat?: 'docker' | 'oci';
  /** --annotation KEY=VALUE: manifest annotations (they need an OCI manifest) */
  annotations: Record<string, string>;
  /** entitlements (BuildKit's --allow): 'security.insecure' lets RUN --security=insecure keep all capabilities */
  allow: string[];

  // cache (executor part 2)
  cache: boolean;
  cacheRepo?: string;
  cacheDir: string;
  cacheTtlSeconds: number;
  cacheCopyLayers: boolean;
  cacheRunLayers: boolean;
  noPushCache: boolean;

  /** where stage roots, layers and downloads live during the build */
  workDir?: string;
  cleanup: boolean;
}

export function defaultBuildOptions(): BuildOptions {
  return {
    context: '/workspace/',
    dockerfile: 'Dockerfile',
    destinations: [],
    noPush: false,
    buildArgs: {},
    labels: {},
    reproducible: false,
    skipUnusedStages: false,
    insecure: false,
    insecurePull: false,
    insecureRegistries: [],
    skipTlsVerify: false,
    skipTlsVerifyPull: false,
    skipTlsVerifyRegistries: [],
    registryCertificates: {},
    registryClientCerts: {},
    registryMirrors: [],
    registryMaps: {},
    skipDefaultRegistryFallback: false,
    pushRetry: 3,
    imageDownloadRetry: 3,
    skipPushPermissionCheck: false,
    pushIgnoreImmutableTagErrors: false,
    compression: 'auto',
    isolation: 'auto',
    snapshotMode: 'full',
    singleSnapshot: false,
    forceBuildMetadata: false,
    ignorePaths: [],
    force: false,
    secrets: [],
    allow: [],
    annotations: {},
    ssh: [],
    cache: false,
    cacheDir: '/cache',
    cacheTtlSeconds: 336 * 3600,
    cacheCopyLayers: false,
    cacheRunLayers: true,
    noPushCache: false,
    cleanup: false,
  };
}
