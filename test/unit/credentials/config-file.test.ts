// config.json parsing: positions in errors, shape checks, no secret in messages; file order.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configLocations, parseDockerConfig, readDockerConfig } from '../../../src/credentials/config-file';
import { DockerConfigKeychain } from '../../../src/credentials/docker-keychain';
import { tmpDir } from '../../support/testbed';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('credentials/config-file', () => {
  it('reports malformed JSON with file, line and column and without the surrounding text', () => {
    const text = '{\n  "auths": {\n    "r.example": { "auth": "c2VjcmV0dXNlcjpodW50ZXIy" }\n    "x": {}\n  }\n}\n';
    const m = message(() => parseDockerConfig(text, '/cfg/config.json'));
    assert.match(m, /^\/cfg\/config\.json:4:5: invalid JSON/);
    assert.ok(!m.includes('c2VjcmV0dXNlcjpodW50ZXIy'), m);
  });
  it('reports truncated JSON at its end', () => {
    assert.match(message(() => parseDockerConfig('{"auths": {', 'f.json')), /^f\.json:1:12: invalid JSON/);
  });
  it('checks the shape of auths and credHelpers, naming the entry and its line', () => {
    assert.match(message(() => parseDockerConfig('{"auths": []}', 'f')), /f:1:2: "auths" must be an object/);
    assert.match(message(() => parseDockerConfig('{\n"credHelpers": {"r": 3}}', 'f')), /f:2:17: credHelpers entry "r" must be a helper name/);
    assert.match(message(() => parseDockerConfig('{"auths": {"r": {"auth": 5}}}', 'f')), /auths entry "r": "auth" must be a string/);
    assert.match(message(() => parseDockerConfig('[1]', 'f')), /expected a JSON object/);
  });
  it('accepts an empty file as an empty config', () => {
    assert.deepEqual(parseDockerConfig('', 'f'), {});
  });
  it('reads DOCKER_CONFIG, ~/.docker, REGISTRY_AUTH_FILE, then podman auth.json, in that order', () => {
    const locs = configLocations({ HOME: '/h', DOCKER_CONFIG: '/kaniko/.docker', REGISTRY_AUTH_FILE: '/ra.json', XDG_RUNTIME_DIR: '/run/user/1' });
    assert.deepEqual(locs.map((l) => l.path), ['/kaniko/.docker/config.json', '/h/.docker/config.json', '/ra.json', '/run/user/1/containers/auth.json', '/h/.config/containers/auth.json']);
  });
  it('refuses a DOCKER_CONFIG that names a file, saying it names a directory (the docker CLI fails too)', async () => {
    const dir = tmpDir('drydock-cfgfile-');
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify({ auths: { 'r.example': { username: 'u', password: 'p4ss-word' } } }));
      const env = { HOME: path.join(dir, 'home'), DOCKER_CONFIG: file };
      let m = '';
      await new DockerConfigKeychain({ env }).resolve('r.example').catch((e) => (m = e.message));
      assert.equal(m, `DOCKER_CONFIG=${file} cannot be used: ${file} is not a directory. DOCKER_CONFIG names the directory that holds config.json (e.g. DOCKER_CONFIG=/kaniko/.docker), not the file`);
      // elsewhere: the component that is a file is named
      assert.match(message(() => readDockerConfig(path.join(file, 'sub', 'config.json'))), new RegExp(`^cannot read .*: ${file.replace(/\./g, '\\.')} is not a directory$`));
      assert.equal(readDockerConfig(path.join(dir, 'missing', 'config.json')), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
