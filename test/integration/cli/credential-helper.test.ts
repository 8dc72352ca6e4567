// docker-credential-drydock as docker, crane and skopeo call it: the helper protocol of
// docker/docker-credential-helpers (credentials.Serve): answers and errors on stdout, status 1 for
// an error, "credentials not found in native keychain" for a miss, and never a secret printed.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, tmpDir } from '../../support/testbed';

const HELPER = path.join(REPO_ROOT, 'bin', 'docker-credential-drydock');
const SECRET = 'hunter2-helper-secret';

describe('docker-credential-drydock (helper protocol)', function () {
  this.timeout(60000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const helper = (args: string[], input = '') => spawnSync(HELPER, args, { env, input, encoding: 'utf8' });
  const config = (cfg: unknown) => fs.writeFileSync(path.join(dir, 'dc', 'config.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg));

  beforeEach(() => {
    dir = tmpDir('drydock-credhelper-');
    fs.mkdirSync(path.join(dir, 'dc'));
    env = { PATH: process.env.PATH, HOME: path.join(dir, 'home'), DOCKER_CONFIG: path.join(dir, 'dc'), AWS_EC2_METADATA_DISABLED: 'true' };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers get with the credential, and a miss with the protocol\'s words on stdout, status 1', () => {
    config({ auths: { 'r.example': { username: 'alice', password: SECRET } } });
    let r = helper(['get'], 'r.example\n');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ServerURL: 'r.example', Username: 'alice', Secret: SECRET });
    r = helper(['get'], 'other.example\n');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, 'credentials not found in native keychain\n');
  });

  it('writes errors on stdout with status 1, where docker and crane show them, without secrets', () => {
    config(`{"auths": {"r.example": {"username": "u", "password": "${SECRET}"}},\n "credHelpers": {"x.example": "nope"`);
    let r = helper(['get'], 'r.example\n');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /config\.json:2:\d+: invalid JSON/);
    assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
    assert.equal(r.stdout.trim().split('\n').length, 1, 'one line');

    config({ credHelpers: { 'u.example': 'missing' } });
    r = helper(['get'], 'u.example\n');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /credential helper "docker-credential-missing" for registry u\.example was not found on PATH/);

    r = helper(['get'], '');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /expected a server URL on stdin/);

    r = helper(['frobnicate']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, 'unknown credential action: frobnicate\n');
  });

  it('lists server → user name only, skipping entries without a user name, never a secret', () => {
    config({
      auths: {
        'a.example': { auth: Buffer.from(`alice:${SECRET}`).toString('base64') },
        'https://index.docker.io/v1/': { username: 'hubuser', password: SECRET },
        'nocolon.example': { auth: Buffer.from(`nocolon${SECRET}`).toString('base64') },
        'token.example': { identitytoken: SECRET },
      },
    });
    const r = helper(['list']);
    assert.equal(r.status, 0, r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), { 'a.example': 'alice', 'https://index.docker.io/v1/': 'hubuser' });
    assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
  });
});
