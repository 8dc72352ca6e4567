// creds compose --secret over a config.json that already names the registry under other
// spellings: the new credential must be the one the keychain finds. SSM is the AWS STAND-IN
// (test/support/aws-standin.ts).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { composeDockerConfig } from '../../../src/credentials/compose';
import { DockerConfigKeychain } from '../../../src/credentials/docker-keychain';
import { startAwsStandin, type AwsStandin } from '../../support/aws-standin';
import { tmpDir } from '../../support/testbed';

describe('credentials/compose --secret', () => {
  let aws: AwsStandin;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    aws = await startAwsStandin({
      keys: { AKIDTASKROLE: { secret: 'task-role-secret-key' } },
      parameters: { '/ci/hub': { value: 'hubbot:hub-t0ken-new', type: 'SecureString' }, '/ci/r': { value: 'rbot:r-t0ken-new', type: 'SecureString' } },
    });
    dir = tmpDir('drydock-compose-');
    env = {
      HOME: path.join(dir, 'home'), DOCKER_CONFIG: path.join(dir, 'dc'), PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SSM: aws.endpoint, AWS_ACCESS_KEY_ID: 'AKIDTASKROLE', AWS_SECRET_ACCESS_KEY: 'task-role-secret-key', AWS_EC2_METADATA_DISABLED: 'true',
    };
  });
  afterEach(async () => {
    await aws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('removes every credHelpers and auths key that names the registry, however it is spelled', async () => {
    fs.mkdirSync(env.DOCKER_CONFIG as string);
    fs.writeFileSync(path.join(dir, 'dc', 'config.json'), JSON.stringify({
      credHelpers: { 'index.docker.io': 'desktop', 'https://r.example/v2/': 'desktop', 'other.example': 'desktop' },
      auths: { 'docker.io': { username: 'old', password: 'old-pass' }, 'http://r.example': { username: 'old', password: 'old-pass' } },
    }));
    await composeDockerConfig({ configDir: env.DOCKER_CONFIG as string, configSources: [], ecr: [], secrets: [{ registry: 'docker.io', source: 'ssm:/ci/hub' }, { registry: 'r.example', source: 'ssm:/ci/r' }] }, { env });
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'dc', 'config.json'), 'utf8'));
    assert.deepEqual(written.credHelpers, { 'other.example': 'desktop' });
    assert.deepEqual(Object.keys(written.auths).sort(), ['https://index.docker.io/v1/', 'r.example']);
    // docker-credential-desktop is not on PATH: a helper left behind would fail these
    const k = new DockerConfigKeychain({ env });
    assert.deepEqual(await k.resolve('index.docker.io'), { username: 'hubbot', password: 'hub-t0ken-new' });
    assert.deepEqual(await k.resolve('r.example'), { username: 'rbot', password: 'r-t0ken-new' });
  });
});
