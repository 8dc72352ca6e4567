// config.json parsing: positions in errors, shape checks, no secret in messages; file order.
import { strict as assert } from 'node:assert';
import { configLocations, parseDockerConfig } from '../../../src/credentials/config-file';

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
});
