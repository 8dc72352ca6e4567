// Credentials from every source, proven against the REAL registry (Debian's docker-registry) in
// htpasswd (Basic) and token (Bearer) modes, with drydock's RegistryClient and, where a tool can
// take the result, with skopeo. AWS SSM and ECR cannot run here: they are played by
// test/support/aws-standin.ts, a STAND-IN written from the published AWS JSON 1.1 protocol.
// S3 is real (s3rver).
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKeychain } from '../../../src/credentials';
import { clearEcrTokenCache } from '../../../src/credentials/ecr-login';
import { parseReference } from '../../../src/image/reference';
import { RegistryClient } from '../../../src/registry';
import { startAwsStandin, type AwsStandin } from '../../support/aws-standin';
import { startHttpProxy } from '../../support/http-proxy';
import { startS3, type S3Server } from '../../support/s3';
import { PASS, REPO_ROOT, USER, pushBaseImages, startRegistry, tmpDir, type Registry } from '../../support/testbed';

const BIN = path.join(REPO_ROOT, 'bin');

// asynchronous: the AWS stand-in runs in this process and must keep answering while the CLI runs
function cli(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(BIN, bin), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function skopeoInspect(reg: Registry, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('skopeo', ['inspect', '--tls-verify=false', ...args, `docker://${reg.host}/library/busybox:latest`], { env, encoding: 'utf8' });
}

async function pull(reg: Registry, env: NodeJS.ProcessEnv): Promise<string> {
  const client = new RegistryClient({ keychain: createKeychain({ env }), insecureRegistries: [reg.host], retries: 0 });
  try {
    const m = await client.getManifest(parseReference(`${reg.host}/library/busybox:latest`));
    return m.digest;
  } finally {
    await client.close();
  }
}

for (const mode of ['htpasswd', 'token'] as const) {
  describe(`credentials against a ${mode} registry`, function () {
    this.timeout(120000);
    let reg: Registry;
    let s3: S3Server;
    let aws: AwsStandin;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const configDir = () => path.join(dir, 'docker');

    before(async () => {
      reg = await startRegistry(mode);
      await pushBaseImages(reg);
      s3 = await startS3();
      aws = await startAwsStandin({
        keys: { AKIDTASKROLE: { secret: 'task-role-secret', sessionToken: 'task-role-session' } },
        parameters: { '/ci/registry': { value: `${USER}:${PASS}`, type: 'SecureString' } },
        ecr: { username: USER, password: PASS, ttlSeconds: 3600 },
      });
    });
    after(async () => {
      await aws.close();
      await s3.stop();
    });
    beforeEach(() => {
      clearEcrTokenCache();
      dir = tmpDir('drydock-creds-it-');
      fs.mkdirSync(path.join(dir, 'bin'));
      env = {
        PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
        HOME: path.join(dir, 'home'),
        DOCKER_CONFIG: configDir(),
        AWS_REGION: 'eu-west-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      };
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('anonymous access is refused (so the cases below prove the credentials)', async () => {
      await assert.rejects(pull(reg, env), (e: Error) => e.message.includes(reg.host));
    });

    it('uses config.json auths (and skopeo accepts the same file)', async () => {
      fs.mkdirSync(configDir());
      const cfg = path.join(configDir(), 'config.json');
      fs.writeFileSync(cfg, JSON.stringify({ auths: { [`http://${reg.host}/v2/`]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }));
      assert.match(await pull(reg, env), /^sha256:/);
      const s = skopeoInspect(reg, ['--authfile', cfg]);
      assert.equal(s.status, 0, s.stderr);
    });

    it('uses a credential helper script on PATH (credHelpers)', async () => {
      fs.writeFileSync(path.join(dir, 'bin', 'docker-credential-testhelper'), `#!/bin/sh\n[ "$1" = get ] || exit 1\nread url\necho "{\\"ServerURL\\":\\"$url\\",\\"Username\\":\\"${USER}\\",\\"Secret\\":\\"${PASS}\\"}"\n`, { mode: 0o755 });
      fs.mkdirSync(configDir());
      fs.writeFileSync(path.join(configDir(), 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'testhelper' } }));
      assert.match(await pull(reg, env), /^sha256:/);
    });

    it('composes config.json from a config.json in S3 (drydock creds compose --config), mode 0600', async () => {
      await s3.put(`ci/${mode}/config.json`, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }));
      const e = { ...env, ...s3.env };
      const r = await cli('drydock', ['creds', 'compose', '--config', `s3://${s3.bucket}/ci/${mode}/config.json`], e);
      assert.equal(r.code, 0, r.stderr);
      const cfg = path.join(configDir(), 'config.json');
      assert.equal(fs.statSync(cfg).mode & 0o777, 0o600);
      assert.match(await pull(reg, env), /^sha256:/);
      const s = skopeoInspect(reg, ['--authfile', cfg]);
      assert.equal(s.status, 0, s.stderr);
      assert.ok(!(r.stdout + r.stderr).includes(PASS));
    });

    it('composes credentials from an SSM SecureString "user:token" (stand-in) and merges with what is there', async () => {
      fs.mkdirSync(configDir());
      fs.writeFileSync(path.join(configDir(), 'config.json'), JSON.stringify({ auths: { 'other.example': { auth: 'b3RoZXI6a2VlcA==' } }, credsStore: '' }));
      const e = { ...env, AWS_ENDPOINT_URL_SSM: aws.endpoint, AWS_ACCESS_KEY_ID: 'AKIDTASKROLE', AWS_SECRET_ACCESS_KEY: 'task-role-secret', AWS_SESSION_TOKEN: 'task-role-session' };
      const r = await cli('drydock', ['creds', 'compose', '--secret', `${reg.host}=ssm:/ci/registry`], e);
      assert.equal(r.code, 0, r.stderr);
      const written = JSON.parse(fs.readFileSync(path.join(configDir(), 'config.json'), 'utf8'));
      assert.ok(written.auths['other.example'], 'existing entry kept');
      assert.deepEqual(aws.calls.at(-1)?.input, { Name: '/ci/registry', WithDecryption: true });
      assert.match(await pull(reg, env), /^sha256:/);
      assert.ok(!(r.stdout + r.stderr).includes(PASS));
    });

    it('creds login checks the credentials against the registry first, like docker login', async () => {
      const bad = await cli('drydock', ['creds', 'login', reg.host, '-u', USER, '-p', 'not-the-password'], env);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, new RegExp(`authentication failed for ${reg.host.replace(/\./g, '\\.')}`));
      assert.ok(!(bad.stdout + bad.stderr).includes('not-the-password'));
      assert.equal(fs.existsSync(path.join(configDir(), 'config.json')), false, 'nothing stored for rejected credentials');
      const good = await cli('drydock', ['creds', 'login', reg.host, '-u', USER, '-p', PASS], env);
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stdout, /Login Succeeded/);
      assert.match(await pull(reg, env), /^sha256:/);
    });

    it('logs in with native ecr-login (ECR stand-in) for an ECR host named in credHelpers', async () => {
      // an ECR host name only the proxy resolves (to this registry): ecr-login answers only for ECR hosts
      const ecrHost = `123456789012.dkr.ecr.eu-west-1.amazonaws.com:${reg.port}`;
      const proxy = await startHttpProxy({ hosts: { '123456789012.dkr.ecr.eu-west-1.amazonaws.com': '127.0.0.1' } });
      try {
        const e = { ...env, AWS_ENDPOINT_URL_ECR: aws.endpoint, AWS_ACCESS_KEY_ID: 'AKIDTASKROLE', AWS_SECRET_ACCESS_KEY: 'task-role-secret', AWS_SESSION_TOKEN: 'task-role-session', NO_PROXY: '127.0.0.1' };
        const r = await cli('drydock', ['creds', 'compose', '--ecr', ecrHost], e);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(configDir(), 'config.json'), 'utf8')).credHelpers, { [ecrHost]: 'ecr-login' });
        const w = await cli('drydock', ['warm', '--insecure', '--cache-dir', path.join(dir, 'cache'), '--image', `${ecrHost}/library/busybox:latest`], { ...e, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
        assert.equal(w.code, 0, w.stderr);
        assert.ok(proxy.tunnels.includes(ecrHost), 'the pull went to the ECR-named host');
        assert.equal(aws.calls.at(-1)?.target, 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
        const g = await cli('drydock', ['creds', 'get', ecrHost], e);
        assert.equal(g.code, 0, g.stderr);
        assert.match(g.stdout, /source: credHelpers .* ecr-login/);
        assert.ok(!g.stdout.includes(PASS), g.stdout);
      } finally {
        await proxy.close();
      }
    });

    it('ecr-login as credsStore (kaniko\'s ECR set-up) gives other registries their auths entry, never an ECR token', async () => {
      const e = { ...env, AWS_ENDPOINT_URL_ECR: aws.endpoint, AWS_ACCESS_KEY_ID: 'AKIDTASKROLE', AWS_SECRET_ACCESS_KEY: 'task-role-secret', AWS_SESSION_TOKEN: 'task-role-session' };
      const calls = aws.calls.length;
      fs.mkdirSync(configDir());
      fs.writeFileSync(path.join(configDir(), 'config.json'), JSON.stringify({ credsStore: 'ecr-login', auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }));
      assert.match(await pull(reg, e), /^sha256:/);
      assert.equal(aws.calls.length, calls, 'no ECR token asked for a registry that is not ECR');
      const r = await cli('drydock', ['creds', 'compose', '--ecr', reg.host], e);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`${reg.host.replace(/\./g, '\\.')} is not an ECR host name`));
    });

    it('serves skopeo as docker-credential-drydock (credHelpers → drydock, credentials from drydock\'s own config)', async () => {
      // drydock's keychain reads DOCKER_CONFIG; skopeo reads a separate authfile naming the helper
      fs.mkdirSync(configDir());
      fs.writeFileSync(path.join(configDir(), 'config.json'), JSON.stringify({ auths: { [reg.host]: { username: USER, password: PASS } } }));
      const authfile = path.join(dir, 'skopeo-auth.json');
      fs.writeFileSync(authfile, JSON.stringify({ credHelpers: { [reg.host]: 'drydock' } }));
      const s = skopeoInspect(reg, ['--authfile', authfile], { ...env, PATH: `${BIN}:${env.PATH}` });
      assert.equal(s.status, 0, s.stderr);
    });

    it('rejects invalid credentials with a message naming the registry and no password', async () => {
      fs.mkdirSync(configDir());
      fs.writeFileSync(path.join(configDir(), 'config.json'), JSON.stringify({ auths: { [reg.host]: { username: USER, password: 'wrong-password-xyz' } } }));
      let msg = '';
      await pull(reg, env).catch((e) => (msg = e.message));
      assert.ok(msg.includes(reg.host), msg);
      assert.ok(!msg.includes('wrong-password-xyz'), msg);
    });
  });
}

describe('credential failures through the CLI name the registry and hide secrets', function () {
  this.timeout(60000);
  it('reports expired AWS credentials for an SSM secret (stand-in) and a crashing helper', async () => {
    const aws = await startAwsStandin({ keys: { AKIDOLD: { secret: 'old-secret-value', expired: true } }, parameters: { '/ci/hub': { value: 'u:tok' } } });
    const dir = tmpDir('drydock-creds-err-');
    try {
      const env = { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, HOME: dir, DOCKER_CONFIG: path.join(dir, 'd'), AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: aws.endpoint, AWS_ACCESS_KEY_ID: 'AKIDOLD', AWS_SECRET_ACCESS_KEY: 'old-secret-value', AWS_EC2_METADATA_DISABLED: 'true' };
      let r = await cli('drydock', ['creds', 'compose', '--secret', 'docker.io=ssm:/ci/hub'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /SSM parameter "\/ci\/hub": AmazonSSM\.GetParameter failed with ExpiredTokenException/);
      assert.ok(!r.stderr.includes('old-secret-value'));

      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(path.join(dir, 'bin', 'docker-credential-boom'), '#!/bin/sh\necho "segfault in keyring" >&2\nkill -SEGV $$\n', { mode: 0o755 });
      fs.mkdirSync(path.join(dir, 'd'));
      fs.writeFileSync(path.join(dir, 'd', 'config.json'), JSON.stringify({ credHelpers: { 'r.example:5000': 'boom' } }));
      r = await cli('drydock', ['creds', 'get', 'r.example:5000'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /credential helper "docker-credential-boom" was killed by SIGSEGV on "get" for registry r\.example:5000: segfault in keyring/);
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credsStore: 'nosuchstore' }));
      r = await cli('drydock', ['creds', 'get', 'u.example'], { ...env, DOCKER_CONFIG: dir });
      assert.match(r.stderr, /credential helper "docker-credential-nosuchstore" for registry u\.example was not found on PATH \(named by credsStore in .*config\.json\)/);
    } finally {
      await aws.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
