import * as assert from 'node:assert/strict';
import { outputPaths, parseBuildRequest, resolveBuildArgs } from '../../../src/sidecar/protocol';

describe('sidecar/protocol', () => {
  it('gives --build-arg NAME (both spellings) the client\'s value, and drops it when the client has none', () => {
    assert.deepEqual(resolveBuildArgs(['--build-arg', 'A', '--build-arg=B', '--build-arg', 'C=set', '--build-arg=D=x', '--build-arg', 'UNSET', '-c', '.'], { A: 'a', B: '' }),
      ['--build-arg', 'A=a', '--build-arg', 'B=', '--build-arg', 'C=set', '--build-arg=D=x', '-c', '.']);
  });

  it('finds the files a build writes for its caller, in both flag spellings', () => {
    assert.deepEqual(outputPaths(['-c', '.', '--digest-file', 'd', '--tar-path=img.tar', '--oci-layout-path', 'out', '--image-name-with-digest-file=n', '--image-name-tag-with-digest-file', 't', '-d', 'reg/x']),
      ['d', 'img.tar', 'out', 'n', 't']);
  });

  it('checks a request and says what is wrong with it', () => {
    assert.deepEqual(parseBuildRequest('{"args":[],"cwd":"/w","owner":{"uid":1000,"gid":1000}}').owner, { uid: 1000, gid: 1000 });
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","owner":{"uid":-1,"gid":0}}'), /"owner" must be/);
    assert.deepEqual(parseBuildRequest('{"args":["--build-arg","X=1"],"cwd":"/w","env":{"SOURCE_DATE_EPOCH":"1"}}'), { args: ['--build-arg', 'X=1'], cwd: '/w', env: { SOURCE_DATE_EPOCH: '1' } });
    assert.throws(() => parseBuildRequest('{"args":["--build-arg","HOME"],"cwd":"/w"}'), /--build-arg HOME has no value: it would read the builder's environment/);
    assert.deepEqual(parseBuildRequest('{"args":[],"cwd":"/w"}').env, {});
    assert.throws(() => parseBuildRequest('nope'), /not JSON/);
    assert.throws(() => parseBuildRequest('{"args":[1],"cwd":"/w"}'), /"args": an array of strings/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"w"}'), /"cwd": an absolute path/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","env":{"X":1}}'), /"env" must map names to strings/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","env":{"PATH":"/evil"}}'), /environment a build does not read: PATH/);
  });
});
