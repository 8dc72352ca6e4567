import * as assert from 'node:assert/strict';
import { composeRequestFromEnv, prepareCredentials, type ComposeRequest } from '../../../src/agent/credentials-prep';
import { Logger, UserError } from '../../../src/log';
import { PassThrough } from 'node:stream';

const quiet = new Logger({ stream: new PassThrough() });

describe('agent credential preparation from the environment', () => {
  it('does nothing when no DRYDOCK_ credential variable is set', async () => {
    assert.equal(composeRequestFromEnv({ DOCKER_CONFIG: '/kaniko/.docker' }), undefined);
    let called = false;
    assert.deepEqual(await prepareCredentials({}, quiet, async () => { called = true; return { path: '', registries: [] }; }), {});
    assert.equal(called, false);
  });

  it('translates the variables into one compose request', () => {
    assert.deepEqual(composeRequestFromEnv({
      DOCKER_CONFIG: '/kaniko/.docker',
      DRYDOCK_CONFIG_SOURCES: 's3://ci/docker/config.json, s3://ci/more.json',
      DRYDOCK_REGISTRY_SECRETS: 'registry.example.com=ssm:/ci/registry,\nghcr.io = s3://ci/ghcr?x=1',
      DRYDOCK_ECR: '123456789012,234567890123.dkr.ecr.eu-west-1.amazonaws.com',
    }), {
      configDir: '/kaniko/.docker',
      configSources: ['s3://ci/docker/config.json', 's3://ci/more.json'],
      secrets: [{ registry: 'registry.example.com', source: 'ssm:/ci/registry' }, { registry: 'ghcr.io', source: 's3://ci/ghcr?x=1' }],
      ecr: ['123456789012', '234567890123.dkr.ecr.eu-west-1.amazonaws.com'],
    });
  });

  it('defaults the config directory to $HOME/.docker', () => {
    assert.equal(composeRequestFromEnv({ HOME: '/home/jenkins', DRYDOCK_ECR: '123456789012' })?.configDir, '/home/jenkins/.docker');
  });

  it('names the bad entry of DRYDOCK_REGISTRY_SECRETS', () => {
    assert.throws(() => composeRequestFromEnv({ DRYDOCK_REGISTRY_SECRETS: 'a=ssm:/x,ssm:/y' }),
      (e: unknown) => e instanceof UserError && /entry 2 "ssm:\/y": expected REGISTRY=SOURCE/.test(e.message));
  });

  it('calls the composer and points the child at the written config', async () => {
    const seen: ComposeRequest[] = [];
    const env = await prepareCredentials({ DOCKER_CONFIG: '/d', DRYDOCK_ECR: '123456789012' }, quiet, async (req) => {
      seen.push(req);
      return { path: '/d/config.json', registries: ['123456789012.dkr.ecr.us-east-1.amazonaws.com'] };
    });
    assert.deepEqual(env, { DOCKER_CONFIG: '/d' });
    assert.deepEqual(seen, [{ configDir: '/d', configSources: [], secrets: [], ecr: ['123456789012'] }]);
  });
});
