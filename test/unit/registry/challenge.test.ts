import { strict as assert } from 'node:assert';
import { parseChallenges, pickChallenge } from '../../../src/registry/challenge';

describe('registry/challenge', () => {
  it('parses a Docker Hub bearer challenge with a comma inside the quoted scope', () => {
    const c = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"');
    assert.deepEqual(c, [{
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' },
    }]);
  });

  it('parses Basic with a realm, case-insensitive scheme and names', () => {
    assert.deepEqual(parseChallenges('BASIC Realm="test-realm"'), [{ scheme: 'basic', params: { realm: 'test-realm' } }]);
  });

  it('parses several challenges in one header and across headers', () => {
    const c = parseChallenges('Basic realm="a, b", Bearer realm="https://t/token", service=svc');
    assert.equal(c.length, 2);
    assert.deepEqual(c[0], { scheme: 'basic', params: { realm: 'a, b' } });
    assert.deepEqual(c[1], { scheme: 'bearer', params: { realm: 'https://t/token', service: 'svc' } });
    assert.equal(parseChallenges(['Basic realm="x"', 'Bearer realm="y"']).length, 2);
  });

  it('handles escapes, spaces around "=", unquoted values and token68', () => {
    assert.deepEqual(parseChallenges('Bearer realm = "a\\"b" , error=insufficient_scope')[0].params, { realm: 'a"b', error: 'insufficient_scope' });
    assert.deepEqual(parseChallenges('Negotiate abc123=='), [{ scheme: 'negotiate', params: {}, token68: 'abc123==' }]);
    assert.deepEqual(parseChallenges('Basic'), [{ scheme: 'basic', params: {} }]);
    assert.deepEqual(parseChallenges(undefined), []);
    assert.deepEqual(parseChallenges(''), []);
  });

  it('reads an unquoted value up to the next comma, as go-containerregistry does (a realm URL with : and /)', () => {
    assert.deepEqual(parseChallenges('Bearer realm=http://h:5001/auth,service=s'), [{ scheme: 'bearer', params: { realm: 'http://h:5001/auth', service: 's' } }]);
    assert.deepEqual(parseChallenges('Bearer realm=https://h/token?account=x , scope=repository:a/b:pull, Basic realm=y'), [
      { scheme: 'bearer', params: { realm: 'https://h/token?account=x', scope: 'repository:a/b:pull' } },
      { scheme: 'basic', params: { realm: 'y' } },
    ]);
  });

  it('skips empty list elements', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://t/token",,service="s", ,scope="x"'), [
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 's', scope: 'x' } },
    ]);
    assert.deepEqual(parseChallenges(',Basic realm=x,,, Bearer realm=y,'), [
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'y' } },
    ]);
  });

  it('prefers Bearer over Basic', () => {
    assert.equal(pickChallenge(parseChallenges('Basic realm="x", Bearer realm="y"'))?.scheme, 'bearer');
    assert.equal(pickChallenge(parseChallenges('Basic realm="x"'))?.scheme, 'basic');
    assert.equal(pickChallenge(parseChallenges('Negotiate x')), undefined);
  });
});
