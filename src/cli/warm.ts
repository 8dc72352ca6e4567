// `drydock warm`: kaniko's warmer. Fetches base images into --cache-dir (one OCI image layout, see
// src/build/cache/base-cache.ts) so that builds with the same --cache-dir read FROM images locally.
// Flags follow kaniko's warmer; no logic beyond mapping them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { warmBaseImage } from '../build/cache/base-cache';
import { createKeychain } from '../credentials';
import { parseDockerfile } from '../dockerfile';
import { expandWord } from '../dockerfile/expand';
import { defaultPlatform, formatPlatform, parsePlatform, type Platform } from '../image/platform';
import { parseReference, type Reference } from '../image/reference';
import { UserError, log, parseFormat, parseLevel } from '../log';
import { RegistryClient } from '../registry';
import { parseBool } from './build';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function keyValue(entries: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf('=');
    if (i <= 0) throw new UserError(`invalid value "${e}" for --${flag}: expected KEY=VALUE`);
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function intArg(v: string, flag: string): number {
  if (!/^\d+$/.test(v)) throw new UserError(`invalid value "${v}" for --${flag}: expected a whole number`);
  return Number(v);
}

export function warmCommand(): Command {
  return new Command('warm')
    .description('Pre-fetch base images into the cache directory read by `drydock build --cache-dir` (kaniko\'s warmer).')
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (s) => process.stdout.write(s), outputError: () => {} })
    .exitOverride()
    .allowExcessArguments(false)
    .option('-i, --image <image>', 'image to fetch (repeatable)', collect, [])
    .option('-d, --dockerfile <path>', 'also fetch the base images named by this Dockerfile\'s FROM lines')
    .option('--build-arg <NAME=VALUE>', 'value for the Dockerfile\'s global ARGs used in FROM (repeatable)', collect, [])
    .option('-c, --cache-dir <dir>', 'the cache directory (an OCI image layout)', '/cache')
    .option('-f, --force [bool]', 'fetch again even when the image is already cached', parseBool('force'))
    .option('--custom-platform <os/arch[/variant]>', 'platform to fetch from multi-platform images')
    .option('--customPlatform <os/arch[/variant]>', 'kaniko warmer spelling of --custom-platform')
    .option('--insecure [bool]', 'accepted for kaniko compatibility (the warmer only pulls: see --insecure-pull)', parseBool('insecure'))
    .option('--insecure-pull [bool]', 'pull from plain-HTTP registries', parseBool('insecure-pull'))
    .option('--insecure-registry <host>', 'use plain HTTP for this registry (repeatable)', collect, [])
    .option('--skip-tls-verify [bool]', 'do not verify TLS certificates', parseBool('skip-tls-verify'))
    .option('--skip-tls-verify-pull [bool]', 'do not verify TLS certificates when pulling', parseBool('skip-tls-verify-pull'))
    .option('--skip-tls-verify-registry <host>', 'do not verify TLS certificates of this registry (repeatable)', collect, [])
    .option('--registry-certificate <host=path>', 'CA certificate to trust for a registry (repeatable)', collect, [])
    .option('--registry-client-cert <host=cert,key>', 'TLS client certificate and key for a registry (repeatable)', collect, [])
    .option('--registry-mirror <host>', 'mirror for docker.io pulls, tried in order (repeatable)', collect, [])
    .option('--registry-map <from=to[;to2]>', 'pull images of registry FROM from TO instead (repeatable)', collect, [])
    .option('--skip-default-registry-fallback [bool]', 'fail instead of falling back to the original registry when mirrors fail', parseBool('skip-default-registry-fallback'))
    .option('--image-download-retry <n>', 'retries for a failed download', (v) => intArg(v, 'image-download-retry'), 0)
    .option('-v, --verbosity <level>', 'log level: trace, debug, info, warn, error, fatal, panic', 'info')
    .option('--log-format <format>', 'log format: text, color or json', 'text')
    .option('--log-timestamp [bool]', 'prefix log lines with a timestamp', parseBool('log-timestamp'));
}

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

export async function main(args: string[]): Promise<number> {
  const cmd = warmCommand();
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
      throw new UserError(e.message.replace(/^error: /, ''), { exitCode: 2 });
    }
    throw e;
  }
  const f = cmd.opts();
  log.configure({ level: parseLevel(f.verbosity), format: parseFormat(f.logFormat), timestamps: !!f.logTimestamp });
  const platformFlag: string | undefined = f.customPlatform;
  const platform = platformFlag ? parsePlatform(platformFlag) : defaultPlatform();
  const maps: Record<string, string[]> = {};
  for (const [from, to] of Object.entries(keyValue(f.registryMap, 'registry-map'))) maps[from] = [...(maps[from] ?? []), ...to.split(';').filter(Boolean)];
  const client = new RegistryClient({
    keychain: createKeychain(),
    insecure: !!f.insecure,
    insecurePull: !!f.insecurePull || !!f.insecure,
    insecureRegistries: f.insecureRegistry,
    skipTlsVerify: !!f.skipTlsVerify,
    skipTlsVerifyPull: !!f.skipTlsVerifyPull || !!f.skipTlsVerify,
    skipTlsVerifyRegistries: f.skipTlsVerifyRegistry,
    registryCertificates: keyValue(f.registryCertificate, 'registry-certificate'),
    registryClientCerts: keyValue(f.registryClientCert, 'registry-client-cert'),
    mirrors: f.registryMirror,
    registryMap: maps,
    skipDefaultRegistryFallback: !!f.skipDefaultRegistryFallback,
    retries: { pull: f.imageDownloadRetry },
    log: log.child({ component: 'registry' }),
  });
  try {
    await warm({
      images: f.image,
      dockerfile: f.dockerfile ? path.resolve(f.dockerfile) : undefined,
      buildArgs: keyValue(f.buildArg, 'build-arg'),
      cacheDir: path.resolve(f.cacheDir),
      force: !!f.force,
      platform,
      client,
    });
  } finally {
    await client.close();
  }
  return 0;
}
