import * as assert from 'node:assert/strict';
import { forwardedEnvNames, outputPaths, parseBuildRequest } from '../../../src/sidecar/protocol';

describe('sidecar/protocol', () => {
  it('forwards only the environment the args read by name: --build-arg NAME (both spellings) and SOURCE_DATE_EPOCH', () => {
    assert.deepEqual(forwardedEnvNames(['--build-arg', 'A', '--build-arg=B', '--build-arg', 'C=set', '--build-arg=D=x', '-c', '.']).sort(), ['A', 'B', 'SOURCE_DATE_EPOCH']);
    assert.deepEqual(forwardedEnvNames(['--build-arg', 'not a name']), ['SOURCE_DATE_EPOCH']);
  });

  it('finds the files a build writes for its caller, in both flag spellings', () => {
    assert.deepEqual(outputPaths(['-c', '.', '--digest-file', 'd', '--tar-path=img.tar', '--oci-layout-path', 'out', '--image-name-with-digest-file=n', '--image-name-tag-with-digest-file', 't', '-d', 'reg/x']),
      ['d', 'img.tar', 'out', 'n', 't']);
  });

  it('checks a request and says what is wrong with it', () => {
    assert.deepEqual(parseBuildRequest('{"args":[],"cwd":"/w","owner":{"uid":1000,"gid":1000}}').owner, { uid: 1000, gid: 1000 });
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","owner":{"uid":-1,"gid":0}}'), /"owner" must be/);
    assert.deepEqual(parseBuildRequest('{"args":["--build-arg","X"],"cwd":"/w","env":{"X":"1"}}'), { args: ['--build-arg', 'X'], cwd: '/w', env: { X: '1' } });
    assert.deepEqual(parseBuildRequest('{"args":[],"cwd":"/w"}').env, {});
    assert.throws(() => parseBuildRequest('nope'), /not JSON/);
    assert.throws(() => parseBuildRequest('{"args":[1],"cwd":"/w"}'), /"args": an array of strings/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"w"}'), /"cwd": an absolute path/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","env":{"X":1}}'), /"env" must map names to strings/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","env":{"PATH":"/evil"}}'), /environment its args do not read: PATH/);
  });
});
