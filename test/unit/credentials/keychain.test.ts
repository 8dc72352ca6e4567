// The keychain over real files and real helper programs (shell scripts on PATH): order of
// sources, credHelpers/credsStore/auths, <token> usernames, and the failures a person must fix.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DockerConfigKeychain } from '../../../src/credentials/docker-keychain';
import type { EcrLogin } from '../../../src/credentials/ecr-login';
import { tmpDir } from '../../support/testbed';

const SECRET = 'hunter2-very-secret';

function writeHelper(bin: string, name: string, script: string): void {
  const f = path.join(bin, `docker-credential-${name}`);
  fs.writeFileSync(f, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('credentials/keychain', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const write = (rel: string, cfg: unknown) => {
    const f = path.join(dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, typeof cfg === 'string' ? cfg : JSON.stringify(cfg));
    return f;
  };

  beforeEach(() => {
    dir = tmpDir('drydock-keychain-');
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    writeHelper(bin, 'good', `read url; echo "{\\"ServerURL\\":\\"$url\\",\\"Username\\":\\"helper-user\\",\\"Secret\\":\\"${SECRET}\\"}"`);
    writeHelper(bin, 'tok', `read url; echo '{"ServerURL":"x","Username":"<token>","Secret":"${SECRET}"}'`);
    writeHelper(bin, 'none', `echo "credentials not found in native keychain"; exit 1`);
    writeHelper(bin, 'crash', `echo "panic: keyring locked" >&2; exit 3`);
    writeHelper(bin, 'garbage', `echo "not json at all"`);
    env = { HOME: path.join(dir, 'home'), DOCKER_CONFIG: path.join(dir, 'dc'), PATH: `${bin}:${process.env.PATH}`, AWS_EC2_METADATA_DISABLED: 'true' };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decodes auths entries (auth, username/password, identitytoken, registrytoken)', async () => {
    write('dc/config.json', {
      auths: {
        'https://r1.example/v1/': { auth: Buffer.from(`alice:${SECRET}`).toString('base64') },
        'r2.example': { username: 'bob', password: SECRET },
        'r3.example': { identitytoken: SECRET },
        'r4.example': { registrytoken: SECRET },
      },
    });
    const k = new DockerConfigKeychain({ env });
    assert.deepEqual(await k.resolve('r1.example'), { username: 'alice', password: SECRET });
    assert.deepEqual(await k.resolve('r2.example'), { username: 'bob', password: SECRET });
    assert.deepEqual(await k.resolve('r3.example'), { identityToken: SECRET });
    assert.deepEqual(await k.resolve('r4.example'), { registryToken: SECRET });
    assert.deepEqual(await k.resolve('other.example'), {});
  });

  it('lets "auth" win over username/password in one entry, as docker\'s config loader does', async () => {
    write('dc/config.json', { auths: { 'r.example': { auth: Buffer.from(`from-auth:${SECRET}`).toString('base64'), username: 'from-fields', password: 'f1elds-pass' } } });
    assert.deepEqual(await new DockerConfigKeychain({ env }).resolve('r.example'), { username: 'from-auth', password: SECRET });
  });

  it('uses DOCKER_CONFIG before ~/.docker, then REGISTRY_AUTH_FILE and podman auth.json', async () => {
    write('dc/config.json', { auths: { 'a.example': { username: 'from-docker-config', password: 'p1p1' } } });
    write('home/.docker/config.json', { auths: { 'a.example': { username: 'from-home', password: 'p2p2' }, 'b.example': { username: 'home-b', password: 'p3p3' } } });
    env.REGISTRY_AUTH_FILE = write('ra.json', { auths: { 'c.example': { username: 'ra', password: 'p4p4' } } });
    write('home/.config/containers/auth.json', { auths: { 'd.example': { username: 'podman', password: 'p5p5' } } });
    const k = new DockerConfigKeychain({ env });
    assert.equal((await k.resolve('a.example')).username, 'from-docker-config');
    assert.equal((await k.resolve('b.example')).username, 'home-b');
    assert.equal((await k.resolve('c.example')).username, 'ra');
    const d = await k.lookup('d.example');
    assert.equal(d.auth.username, 'podman');
    assert.match(d.source, /containers\/auth\.json/);
  });

  it('asks credHelpers per host, then credsStore, with the helper protocol', async () => {
    write('dc/config.json', {
      credsStore: 'none',
      credHelpers: { 'h.example': 'good', 't.example': 'tok' },
      auths: { 's.example': { username: 'static', password: 'stat1c' } },
    });
    const k = new DockerConfigKeychain({ env });
    assert.deepEqual(await k.resolve('h.example'), { username: 'helper-user', password: SECRET });
    assert.deepEqual(await k.resolve('t.example'), { identityToken: SECRET });
    // the store has nothing: the static entry answers
    assert.deepEqual(await k.resolve('s.example'), { username: 'static', password: 'stat1c' });
    assert.deepEqual(await k.resolve('nothing.example'), {});
  });

  it('ecr-login (credsStore or credHelpers) has nothing for a host that is not ECR, as docker-credential-ecr-login', async () => {
    write('dc/config.json', {
      credsStore: 'ecr-login',
      credHelpers: { 'mirror.example': 'ecr-login' },
      auths: { '127.0.0.1:5610': { username: 'local', password: 'l0cal-pass' } },
    });
    const asked: string[] = [];
    const ecr = { get: async (r: string) => { asked.push(r); return { username: 'AWS', password: 'ecr-token' }; } } as unknown as EcrLogin;
    // no AWS region in env: the old code failed with "needs an AWS region" before reaching auths
    const k = new DockerConfigKeychain({ env, ecr });
    assert.deepEqual(await k.resolve('127.0.0.1:5610'), { username: 'local', password: 'l0cal-pass' });
    assert.deepEqual(await k.resolve('docker.io'), {});
    assert.deepEqual(await k.resolve('mirror.example'), {});
    assert.deepEqual(asked, []);
    // an ECR host still gets its token from the store
    assert.equal((await k.resolve('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).password, 'ecr-token');
    assert.equal((await k.resolve('123456789012.dkr.ecr.eu-west-1.amazonaws.com:443')).password, 'ecr-token');
    assert.deepEqual(asked, ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', '123456789012.dkr.ecr.eu-west-1.amazonaws.com:443']);
  });

  it('matches a bare account id key to that account\'s ECR host', async () => {
    write('dc/config.json', { credHelpers: { '123456789012': 'good' } });
    const r = await new DockerConfigKeychain({ env }).lookup('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    assert.equal(r.auth.username, 'helper-user');
    assert.match(r.source, /credHelpers "123456789012"/);
  });

  it('fails clearly, naming registry and file, for a malformed config, unknown, crashing or garbled helper', async () => {
    const f = write('dc/config.json', `{"auths": {"r.example": {"auth": "${Buffer.from(`u:${SECRET}`).toString('base64')}"}},\n "credHelpers": {"x.example": "nope"`);
    let m = await failure(new DockerConfigKeychain({ env }).resolve('r.example'));
    assert.match(m, new RegExp(`^${f}:2:\\d+: invalid JSON`));
    assert.ok(!m.includes(SECRET) && !m.includes(Buffer.from(`u:${SECRET}`).toString('base64')), m);

    write('dc/config.json', { credHelpers: { 'u.example': 'missing', 'c.example': 'crash', 'g.example': 'garbage' } });
    const k = new DockerConfigKeychain({ env });
    m = await failure(k.resolve('u.example'));
    assert.match(m, /credential helper "docker-credential-missing" for registry u\.example was not found on PATH \(named by credHelpers "u\.example" in .*config\.json\)/);
    m = await failure(k.resolve('c.example'));
    assert.match(m, /credential helper "docker-credential-crash" exited with status 3 on "get" for registry c\.example: panic: keyring locked/);
    m = await failure(k.resolve('g.example'));
    assert.match(m, /docker-credential-garbage" answered "get" for registry g\.example with output that is not JSON/);
  });

  it('decodes an auth field wrapped over lines (GNU base64 wraps at 76), as Go\'s decoder does', async () => {
    const long = `robot$team+ci:${'x'.repeat(60)}${SECRET}`;
    const wrapped = (Buffer.from(long).toString('base64').match(/.{1,76}/g) as string[]).join('\n') + '\r\n';
    assert.ok(wrapped.includes('\n'));
    write('dc/config.json', { auths: { 'r.example': { auth: wrapped } } });
    assert.deepEqual(await new DockerConfigKeychain({ env }).resolve('r.example'), { username: 'robot$team+ci', password: `${'x'.repeat(60)}${SECRET}` });
  });

  it('rejects an auth field that is not base64 user:password, without printing it', async () => {
    write('dc/config.json', { auths: { 'r.example': { auth: 'bm9jb2xvbg==' } } });
    const m = await failure(new DockerConfigKeychain({ env }).resolve('r.example'));
    assert.match(m, /auths entry "r\.example": "auth" is not base64 of "user:password"/);
    assert.ok(!m.includes('bm9jb2xvbg=='));
  });
});
