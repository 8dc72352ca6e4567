// Native ecr-login against the SSM/ECR STAND-IN (test/support/aws-standin.ts, written from the
// published AWS JSON 1.1 protocol; real ECR cannot run here): token caching until half its
// lifetime, reuse when the API fails, and clear errors for bad credentials.
import { strict as assert } from 'node:assert';
import { EcrLogin, clearEcrTokenCache } from '../../../src/credentials/ecr-login';
import { DockerConfigKeychain } from '../../../src/credentials/docker-keychain';
import { startAwsStandin, type AwsStandin } from '../../support/aws-standin';

const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

describe('credentials/ecr-login (AWS stand-in)', () => {
  let aws: AwsStandin;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    clearEcrTokenCache();
    aws = await startAwsStandin({ keys: { AKIDTASKROLE: { secret: 'task-role-secret-key', sessionToken: 'task-session-token' } } });
    env = {
      AWS_ENDPOINT_URL_ECR: aws.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDTASKROLE',
      AWS_SECRET_ACCESS_KEY: 'task-role-secret-key',
      AWS_SESSION_TOKEN: 'task-session-token',
      AWS_EC2_METADATA_DISABLED: 'true',
      HOME: '/nonexistent',
    };
  });
  afterEach(() => aws.close());

  it('gets a token for the account and region in the host, signed with the task credentials', async () => {
    const auth = await new EcrLogin({ env }).get(HOST);
    assert.deepEqual(auth, { username: 'AWS', password: 'ecr-password-from-standin' });
    assert.equal(aws.calls.length, 1);
    assert.deepEqual(aws.calls[0].input, { registryIds: ['123456789012'] });
    assert.equal(aws.calls[0].region, 'eu-west-1');
    assert.equal(aws.calls[0].accessKeyId, 'AKIDTASKROLE');
  });

  it('is used automatically for an ECR host with no config entry', async () => {
    const r = await new DockerConfigKeychain({ env, locations: [] }).lookup(HOST);
    assert.equal(r.auth.username, 'AWS');
    assert.match(r.source, /native ecr-login/);
  });

  it('caches until half the token lifetime, then refreshes; reuses a valid token when the API fails', async () => {
    let now = Date.now();
    aws.ecr.ttlSeconds = 1000;
    aws.now = () => now;
    const login = new EcrLogin({ env, now: () => now });
    await login.get(HOST);
    now += 400_000;
    await login.get(HOST);
    assert.equal(aws.calls.length, 1, 'cached before half-life');
    now += 200_000;
    aws.ecr.password = 'second-token';
    assert.equal((await login.get(HOST)).password, 'second-token');
    assert.equal(aws.calls.length, 2, 'refreshed after half-life');
    now += 600_000;
    aws.ecr.failWith = 'ThrottlingException';
    assert.equal((await login.get(HOST)).password, 'second-token', 'reused while unexpired');
    now += 500_000;
    await assert.rejects(login.get(HOST), /ECR login for 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com: .*ThrottlingException/);
  });

  it('reports expired and invalid AWS credentials naming the registry, without secrets', async () => {
    aws.keys.AKIDTASKROLE.expired = true;
    let msg = '';
    await new EcrLogin({ env }).get(HOST).catch((e) => (msg = e.message));
    assert.match(msg, new RegExp(`ECR login for ${HOST.replace(/\./g, '\\.')}: .*ExpiredTokenException.*invalid, expired or not allowed`));
    aws.keys.AKIDTASKROLE.expired = false;
    await new EcrLogin({ env: { ...env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' } }).get(HOST).catch((e) => (msg = e.message));
    assert.match(msg, /InvalidSignatureException/);
    for (const s of ['task-role-secret-key', 'task-session-token', 'wrong-secret-value']) assert.ok(!msg.includes(s), msg);
  });
});
