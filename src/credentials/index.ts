// The credentials layer: a keychain for registries (config.json, helpers, native ECR login) and
// the composition of config.json from S3/SSM/ECR.
import type { Logger } from '../log';
import { DockerConfigKeychain } from './docker-keychain';
import type { Keychain } from './keychain';

export * from './keychain';
export { DockerConfigKeychain, type ResolvedCredential } from './docker-keychain';
export { composeDockerConfig, type ComposeRequest } from './compose';
export { configLocations, dockerConfigDir } from './config-file';

/** The full chain: DOCKER_CONFIG/~/.docker, REGISTRY_AUTH_FILE, podman auth.json, helpers, ecr-login. */
export function createKeychain(opts: { env?: NodeJS.ProcessEnv; log?: Logger } = {}): Keychain & DockerConfigKeychain {
  return new DockerConfigKeychain({ env: opts.env, log: opts.log });
}
