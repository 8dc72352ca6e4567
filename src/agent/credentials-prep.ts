// Optional registry credentials before remoting starts, so every build on this agent finds a
// ready config.json in DOCKER_CONFIG. Driven by environment (the ECS task definition sets it):
//
//   DRYDOCK_CONFIG_SOURCES   whole config.json files to merge, comma separated (s3://bucket/key)
//   DRYDOCK_REGISTRY_SECRETS per-registry secrets: "host=ssm:/path,host2=s3://bucket/key"
//   DRYDOCK_ECR              ECR registries or account ids to log in to natively, comma separated
//   DOCKER_CONFIG            where config.json is written (default $HOME/.docker)
//
// The composing itself belongs to src/credentials; we only translate env into its request
// (tests inject a recording composer through the same signature).
import * as os from 'node:os';
import * as path from 'node:path';
import { composeDockerConfig } from '../credentials/compose';
import { UserError, type Logger } from '../log';
import type { Env } from './launch-plan';

export interface ComposeRequest {
  configDir: string;
  configSources: string[];
  secrets: Array<{ registry: string; source: string }>;
  ecr: string[];
}

export type ComposeDockerConfig = (
  req: ComposeRequest,
  opts?: { env?: Env; log?: Logger },
) => Promise<{ path: string; registries: string[] }>;

function list(raw: string | undefined): string[] {
  return (raw ?? '').split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
}

/** The request described by the environment, or undefined when none of its variables is set. */
export function composeRequestFromEnv(env: Env): ComposeRequest | undefined {
  const configSources = list(env.DRYDOCK_CONFIG_SOURCES);
  const ecr = list(env.DRYDOCK_ECR);
  const secrets = list(env.DRYDOCK_REGISTRY_SECRETS).map((entry, i) => {
    const eq = entry.indexOf('=');
    const registry = eq > 0 ? entry.slice(0, eq).trim() : '';
    const source = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!registry || !source) {
      throw new UserError(
        `DRYDOCK_REGISTRY_SECRETS entry ${i + 1} "${entry}": expected REGISTRY=SOURCE, e.g. registry.example.com=ssm:/ci/registry`,
        { exitCode: 2 },
      );
    }
    return { registry, source };
  });
  if (!configSources.length && !ecr.length && !secrets.length) return undefined;
  const configDir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
  return { configDir, configSources, secrets, ecr };
}

/** Compose config.json when asked to; returns the env the child needs (DOCKER_CONFIG). */
export async function prepareCredentials(env: Env, log: Logger, compose?: ComposeDockerConfig): Promise<Env> {
  const req = composeRequestFromEnv(env);
  if (!req) return {};
  log.info('composing registry credentials', {
    configDir: req.configDir,
    sources: req.configSources.length,
    secrets: req.secrets.map((s) => s.registry).join(','),
    ecr: req.ecr.join(','),
  });
  const result = await (compose ?? composeDockerConfig)(req, { env, log });
  log.info('registry credentials ready', { path: result.path, registries: result.registries.join(',') });
  return { DOCKER_CONFIG: req.configDir };
}
