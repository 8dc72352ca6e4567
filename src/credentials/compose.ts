// Compose $DOCKER_CONFIG/config.json from what an ECS task has: whole config.json files in S3,
// "user:token" secrets in S3 or SSM, and ECR registries to log in to with the task role.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRegion } from '../aws/region';
import { Logger, UserError, log as rootLog } from '../log';
import { parseDockerConfig, readDockerConfig, type DockerConfig } from './config-file';
import { mergeDockerConfig, writeDockerConfigAtomic } from './config-write';
import { NATIVE_ECR_HELPER, registryKeyIn } from './docker-keychain';
import { ecrHostFor, isAccountId, parseEcrHost } from './ecr-host';
import { configKeyFor, keyToHost } from './registry-key';
import { parseUserToken, readS3Text, readSecretSource } from './secret-source';

export interface ComposeRequest {
  configDir: string;
  /** s3://bucket/key of whole config.json files to merge, in order */
  configSources: string[];
  /** a registry and where its "user:token" is: s3://... or ssm:/path */
  secrets: Array<{ registry: string; source: string }>;
  /** account ids or ECR hosts → credHelpers ecr-login */
  ecr: string[];
}

export interface ComposeOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

/** The ECR host for an --ecr value: an account id (in AWS_REGION) or a host. */
export function ecrRegistryFor(value: string, env: NodeJS.ProcessEnv): string {
  const v = value.trim();
  if (isAccountId(v)) return ecrHostFor(v, requireRegion(env, `ECR account ${v}`));
  const host = keyToHost(v);
  if (!host || /\s/.test(host)) throw new UserError(`invalid ECR registry "${value}": expected a 12-digit account id or a registry host`);
  // ecr-login (ours, as docker-credential-ecr-login) has no credentials for any other host
  if (!parseEcrHost(host)) throw new UserError(`invalid ECR registry "${value}": ${host} is not an ECR host name (ACCOUNT.dkr.ecr.REGION.amazonaws.com or public.ecr.aws), so ecr-login has no credentials for it`);
  return host;
}

/** A copy of `map` without the keys the keychain would take for `registry`. */
function withoutKeysFor<T>(map: Record<string, T> | undefined, registry: string): Record<string, T> {
  const out = { ...(map ?? {}) };
  for (let k = registryKeyIn(out, registry); k !== undefined; k = registryKeyIn(out, registry)) delete out[k];
  return out;
}

export async function composeDockerConfig(req: ComposeRequest, opts: ComposeOptions = {}): Promise<{ path: string; registries: string[] }> {
  const env = opts.env ?? process.env;
  const log = (opts.log ?? rootLog).child({ component: 'creds-compose' });
  const file = path.join(req.configDir, 'config.json');
  let cfg: DockerConfig = readDockerConfig(file, env.DOCKER_CONFIG && path.resolve(env.DOCKER_CONFIG) === path.resolve(req.configDir) ? 'DOCKER_CONFIG' : undefined) ?? {};
  const registries = new Set<string>();

  for (const src of req.configSources) {
    if (!src.startsWith('s3://')) throw new UserError(`config source "${src}" is not an s3://bucket/key URL`);
    const extra = parseDockerConfig(await readS3Text(src, { env, log: opts.log }), src);
    cfg = mergeDockerConfig(cfg, extra);
    for (const k of [...Object.keys(extra.auths ?? {}), ...Object.keys(extra.credHelpers ?? {})]) registries.add(keyToHost(k));
    log.info(`merged ${src} into ${file}`);
  }

  for (const s of req.secrets) {
    if (!s.registry) throw new UserError(`secret ${s.source} has no registry (expected REGISTRY=${s.source})`);
    const value = await readSecretSource(s.source, { env, log: opts.log });
    const { username, password } = parseUserToken(value, s.source, s.registry);
    const key = configKeyFor(s.registry);
    // Every other spelling of this registry goes (index.docker.io, https://host/v2/, an account id
    // for ECR), found as the keychain finds them: an older auths entry under another key could
    // be found first, and a helper named for the registry would take precedence over this entry.
    const auths = withoutKeysFor(cfg.auths, s.registry);
    auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
    cfg = { ...cfg, auths };
    if (cfg.credHelpers) cfg = { ...cfg, credHelpers: withoutKeysFor(cfg.credHelpers, s.registry) };
    registries.add(keyToHost(key));
    log.info(`credentials for ${key} from ${s.source}`);
  }

  for (const e of req.ecr) {
    const host = ecrRegistryFor(e, env);
    cfg = mergeDockerConfig(cfg, { credHelpers: { [host]: NATIVE_ECR_HELPER } });
    registries.add(host);
    log.info(`${host} uses ecr-login`);
  }

  writeDockerConfigAtomic(file, cfg);
  fs.chmodSync(file, 0o600);
  return { path: file, registries: [...registries] };
}
