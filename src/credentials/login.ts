// `docker login`/`docker logout` on a config.json: into the registry's credential helper when the
// file names one (credHelpers, credsStore), else into "auths".
import { UserError, registerSecret } from '../log';
import { readDockerConfig } from './config-file';
import { mergeDockerConfig, writeDockerConfigAtomic } from './config-write';
import { NATIVE_ECR_HELPER } from './docker-keychain';
import { CredentialHelper } from './helper-protocol';
import { configKeyFor, findKey, helperServerUrl } from './registry-key';

function helperFor(cfg: ReturnType<typeof readDockerConfig>, registry: string, file: string): { name: string; origin: string } | undefined {
  const key = findKey(cfg?.credHelpers, registry);
  if (key) return { name: cfg!.credHelpers![key], origin: `credHelpers "${key}" in ${file}` };
  if (cfg?.credsStore) return { name: cfg.credsStore, origin: `credsStore in ${file}` };
  return undefined;
}

/** Store credentials; returns where they went. */
export async function loginToConfig(registry: string, username: string, password: string, file: string, env: NodeJS.ProcessEnv): Promise<string> {
  registerSecret(password);
  if (!username || username.includes(':')) throw new UserError(`login to ${registry}: the user name must be non-empty and contain no ":"`);
  const cfg = readDockerConfig(file) ?? {};
  const helper = helperFor(cfg, registry, file);
  if (helper) {
    if (helper.name === NATIVE_ECR_HELPER) throw new UserError(`login to ${registry}: ${helper.origin} is ecr-login, which gets its credentials from AWS; nothing to store`);
    await new CredentialHelper(helper.name, env, helper.origin).store(helperServerUrl(registry), username, password);
    return `docker-credential-${helper.name}`;
  }
  const key = configKeyFor(registry);
  const prior = findKey(cfg.auths, registry);
  const auths = { ...(cfg.auths ?? {}) };
  if (prior && prior !== key) delete auths[prior];
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  writeDockerConfigAtomic(file, mergeDockerConfig({ ...cfg, auths: {} }, { auths }));
  return file;
}

/** Remove credentials; returns where they were removed from, or undefined if there were none. */
export async function logoutFromConfig(registry: string, file: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const cfg = readDockerConfig(file);
  if (!cfg) return undefined;
  const helper = helperFor(cfg, registry, file);
  if (helper && helper.name !== NATIVE_ECR_HELPER) await new CredentialHelper(helper.name, env, helper.origin).erase(helperServerUrl(registry));
  const key = findKey(cfg.auths, registry);
  if (!key) return helper ? `docker-credential-${helper.name}` : undefined;
  const auths = { ...cfg.auths };
  delete auths[key];
  writeDockerConfigAtomic(file, { ...cfg, auths });
  return file;
}
