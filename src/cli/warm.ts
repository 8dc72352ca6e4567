// `drydock warm`: kaniko's warmer flags mapped onto warm() (src/build/cache/warm.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import { warm } from '../build/cache/warm';
import { createKeychain } from '../credentials';
import { defaultPlatform, parsePlatform } from '../image/platform';
import { log } from '../log';
import { RegistryClient } from '../registry';
import { addLogFlags, addRegistryFlags, collect, configureLogging, intArg, keyValue, newCommand, parseBool, parseCommand, registryOptions } from './flags';

export { dockerfileBaseImages, warm, type WarmOptions } from '../build/cache/warm';

export function warmCommand(): Command {
  const cmd = newCommand('warm', 'Pre-fetch base images into the cache directory read by `drydock build --cache-dir` (kaniko\'s warmer).')
    .option('-i, --image <image>', 'image to fetch (repeatable)', collect, [])
    .option('-d, --dockerfile <path>', 'also fetch the base images named by this Dockerfile\'s FROM lines')
    .option('--build-arg <NAME=VALUE>', 'value for the Dockerfile\'s global ARGs used in FROM (repeatable)', collect, [])
    .option('-c, --cache-dir <dir>', 'the cache directory (an OCI image layout)', '/cache')
    .option('-f, --force [bool]', 'fetch again even when the image is already cached', parseBool('force'))
    .option('--custom-platform <os/arch[/variant]>', 'platform to fetch from multi-platform images')
    .option('--customPlatform <os/arch[/variant]>', 'kaniko warmer spelling of --custom-platform')
    .option('--insecure [bool]', 'the warmer only pulls: the same as --insecure-pull', parseBool('insecure'))
    .option('--skip-tls-verify [bool]', 'the warmer only pulls: the same as --skip-tls-verify-pull', parseBool('skip-tls-verify'))
    .option('--image-download-retry <n>', 'retries of transient download failures, with backoff', (v) => intArg(v, 'image-download-retry'), 3);
  return addLogFlags(addRegistryFlags(cmd));
}

export async function main(args: string[]): Promise<number> {
  const cmd = warmCommand();
  if (!parseCommand(cmd, args)) return 0;
  const f = cmd.opts();
  configureLogging(f);
  const platformFlag: string | undefined = f.customPlatform;
  const platform = platformFlag ? parsePlatform(platformFlag) : defaultPlatform();
  const t = registryOptions(f);
  await RegistryClient.using({
    ...t,
    insecurePull: t.insecurePull || t.insecure,
    skipTlsVerifyPull: t.skipTlsVerifyPull || t.skipTlsVerify,
    keychain: createKeychain(),
    retries: { pull: f.imageDownloadRetry },
    log: log.child({ component: 'registry' }),
  }, (client) => warm({
    images: f.image,
    dockerfile: f.dockerfile ? path.resolve(f.dockerfile) : undefined,
    buildArgs: keyValue(f.buildArg, 'build-arg'),
    cacheDir: path.resolve(f.cacheDir),
    force: !!f.force,
    platform,
    client,
  }));
  return 0;
}
