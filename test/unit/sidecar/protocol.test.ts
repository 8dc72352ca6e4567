import * as assert from 'node:assert/strict';
import { executorArgs, outputPaths, parseBuildRequest, resolveClientArgs } from '../../../src/sidecar/protocol';

describe('sidecar/protocol', () => {
  it('gives --build-arg NAME (both spellings) the client\'s value, and drops it when the client has none', () => {
    assert.deepEqual(resolveClientArgs(['--build-arg', 'A', '--build-arg=B', '--build-arg', 'C=set', '--build-arg=D=x', '--build-arg', 'UNSET', '-c', '.'], { A: 'a', B: '' }).args,
      ['--build-arg', 'A=a', '--build-arg', 'B=', '--build-arg', 'C=set', '--build-arg=D=x', '-c', '.']);
  });

  it('sends secrets read from the client\'s environment as request environment; file secrets and SSH sockets name the client\'s paths', () => {
    const r = resolveClientArgs(
      ['--secret', 'id=npm,env=NPM_TOKEN', '--secret=id=GIT_TOKEN', '--secret', 'id=f,src=/w/secret.txt', '--secret', 'id=gone,env=UNSET', '--ssh', 'default', '--ssh', 'other=/w/agent.sock', '-c', '.'],
      { NPM_TOKEN: 'n-value', GIT_TOKEN: 'g-value', SSH_AUTH_SOCK: '/w/ssh.sock', SOURCE_DATE_EPOCH: '1700000000' });
    assert.deepEqual(r.args, ['--secret', 'id=npm,env=DRYDOCK_SIDECAR_SECRET_1', '--secret', 'id=GIT_TOKEN,env=DRYDOCK_SIDECAR_SECRET_2',
      '--secret', 'id=f,src=/w/secret.txt', '--secret', 'id=gone,env=DRYDOCK_SIDECAR_SECRET_3', '--ssh', 'default=/w/ssh.sock', '--ssh', 'other=/w/agent.sock', '-c', '.']);
    assert.deepEqual(r.env, { SOURCE_DATE_EPOCH: '1700000000', DRYDOCK_SIDECAR_SECRET_1: 'n-value', DRYDOCK_SIDECAR_SECRET_2: 'g-value' });
    assert.deepEqual(resolveClientArgs(['--ssh', 'default'], {}).args, [], 'no agent here: none there either');
  });

  it('reads a secret with an empty src=, source= or env= from the client\'s variable named by id, as the executor would locally', () => {
    const r = resolveClientArgs(['--secret', 'id=A,env=', '--secret', 'id=B,src=', '--secret=id=C,source=', '--secret', 'id=D,src=,env=E'], { A: 'a', B: 'b', C: 'c', D: 'd', E: 'e' });
    assert.deepEqual(r.args, ['--secret', 'id=A,env=DRYDOCK_SIDECAR_SECRET_1', '--secret', 'id=B,env=DRYDOCK_SIDECAR_SECRET_2', '--secret', 'id=C,env=DRYDOCK_SIDECAR_SECRET_3', '--secret', 'id=D,env=DRYDOCK_SIDECAR_SECRET_4']);
    assert.deepEqual(r.env, { DRYDOCK_SIDECAR_SECRET_1: 'a', DRYDOCK_SIDECAR_SECRET_2: 'b', DRYDOCK_SIDECAR_SECRET_3: 'c', DRYDOCK_SIDECAR_SECRET_4: 'e' });
  });

  it('refuses a --secret with an empty src=, source= or env= (the executor would read the builder\'s variable id)', () => {
    for (const s of ['id=AWS_SECRET_ACCESS_KEY,env=', 'id=AWS_SECRET_ACCESS_KEY,src=', 'id=AWS_SECRET_ACCESS_KEY,source=', 'id=X,env=DRYDOCK_SIDECAR_SECRET_1,src=']) {
      assert.throws(() => parseBuildRequest(JSON.stringify({ args: ['--secret', s], cwd: '/w' })), /is empty, which would read the builder's environment/, s);
    }
  });

  it('refuses builds outside chroot isolation (--isolation none or auto, --force) and RUN with all capabilities; asks the executor for chroot', () => {
    for (const args of [['--isolation', 'none'], ['--isolation=none'], ['--isolation', 'auto'], ['--force'], ['--force=true'], ['--isolation=chroot', '--force', 'true'], ['--allow', 'security.insecure'], ['--allow=security.insecure']]) {
      assert.throws(() => parseBuildRequest(JSON.stringify({ args: ['-c', '.', ...args], cwd: '/w' })), /is refused: (the builder sidecar builds in chroot isolation only|RUN steps in the builder sidecar never keep)/, args.join(' '));
    }
    assert.deepEqual(parseBuildRequest(JSON.stringify({ args: ['--isolation', 'chroot', '--force=false'], cwd: '/w' })).args, ['--isolation', 'chroot', '--force=false']);
    assert.deepEqual(executorArgs(['-c', '.', '--', 'x']), ['--isolation=chroot', '-c', '.', '--', 'x']);
    assert.deepEqual(executorArgs(['push', 'out', '-d', 'r/x']), ['push', 'out', '-d', 'r/x']);
  });

  it('finds the files a build writes for its caller, in both flag spellings', () => {
    assert.deepEqual(outputPaths(['-c', '.', '--digest-file', 'd', '--tar-path=img.tar', '--oci-layout-path', 'out', '--image-name-with-digest-file=n', '--image-name-tag-with-digest-file', 't', '-d', 'reg/x']),
      ['d', 'img.tar', 'out', 'n', 't']);
  });

  it('checks a request and says what is wrong with it', () => {
    assert.deepEqual(parseBuildRequest('{"args":[],"cwd":"/w","owner":{"uid":1000,"gid":1000}}'), { args: [], cwd: '/w', env: {} }, 'who the client is, the kernel says');
    assert.deepEqual(parseBuildRequest('{"args":["--build-arg","X=1"],"cwd":"/w","env":{"SOURCE_DATE_EPOCH":"1"}}'), { args: ['--build-arg', 'X=1'], cwd: '/w', env: { SOURCE_DATE_EPOCH: '1' } });
    assert.throws(() => parseBuildRequest('{"args":["--build-arg","HOME"],"cwd":"/w"}'), /--build-arg HOME has no value: it would read the builder's environment/);
    assert.throws(() => parseBuildRequest('{"args":["--secret","id=aws,env=AWS_SECRET_ACCESS_KEY"],"cwd":"/w"}'), /reads the variable AWS_SECRET_ACCESS_KEY, which the builder would answer for/);
    assert.throws(() => parseBuildRequest('{"args":["--secret=id=GIT_TOKEN"],"cwd":"/w"}'), /reads the variable GIT_TOKEN/);
    assert.throws(() => parseBuildRequest('{"args":["--ssh","default"],"cwd":"/w"}'), /would use the builder's SSH_AUTH_SOCK/);
    assert.deepEqual(parseBuildRequest('{"args":["--secret","id=t,env=DRYDOCK_SIDECAR_SECRET_1","--secret","id=f,src=/w/f"],"cwd":"/w","env":{"DRYDOCK_SIDECAR_SECRET_1":"v"}}').env, { DRYDOCK_SIDECAR_SECRET_1: 'v' });
    assert.deepEqual(parseBuildRequest('{"args":[],"cwd":"/w"}').env, {});
    assert.throws(() => parseBuildRequest('nope'), /not JSON/);
    assert.throws(() => parseBuildRequest('{"args":[1],"cwd":"/w"}'), /"args": an array of strings/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"w"}'), /"cwd": an absolute path/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","env":{"X":1}}'), /"env" must map names to strings/);
    assert.throws(() => parseBuildRequest('{"args":[],"cwd":"/w","env":{"PATH":"/evil"}}'), /environment a build does not read: PATH/);
  });
});
