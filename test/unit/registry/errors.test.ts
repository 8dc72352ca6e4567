import { strict as assert } from 'node:assert';
import { networkError, parseErrorBody, parseRetryAfter, isRetryable, RegistryError } from '../../../src/registry/errors';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('registry/errors', () => {
  it('reads distribution error bodies and token server bodies', () => {
    assert.deepEqual(parseErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'),
      { code: 'MANIFEST_UNKNOWN', message: 'MANIFEST_UNKNOWN: manifest unknown: {"Tag":"x"}' });
    assert.deepEqual(parseErrorBody('{"details":"bad credentials"}'), { message: 'bad credentials' });
    assert.deepEqual(parseErrorBody('<html><body><h1>502 Bad Gateway</h1></body></html>'), { message: '502 Bad Gateway' });
    assert.equal(parseErrorBody('  '), undefined);
  });

  it('does not echo secrets from error bodies', () => {
    const e = parseErrorBody('{"errors":[{"code":"X","message":"bad header Authorization: Basic dXNlcjpwYXNz"}]}');
    assert.ok(e && !e.message.includes('dXNlcjpwYXNz'));
  });

  it('explains connection failures per cause', () => {
    assert.equal(networkError(withCode('ECONNREFUSED'), 'r:5000').message, 'cannot reach registry r:5000: connection refused');
    assert.match(networkError(withCode('ENOTFOUND'), 'r.io').message, /cannot reach registry r\.io: host not found/);
    const agg = Object.assign(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], ''), { code: 'ECONNREFUSED' });
    assert.match(networkError(agg, 'localhost:1').message, /connection refused/);
    assert.match(networkError(withCode('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'r.io').message,
      /^TLS error talking to registry r\.io: self-signed certificate; .*--registry-certificate r\.io=<ca\.pem>.*--skip-tls-verify-registry r\.io/);
    assert.match(networkError(withCode('ERR_SSL_WRONG_VERSION_NUMBER'), 'r.io').message, /answers plain HTTP; allow that with --insecure-registry r\.io/);
    const reset = networkError(Object.assign(new Error('other side closed'), { cause: withCode('ECONNRESET') }), 'r.io');
    assert.ok(isRetryable(reset));
    assert.ok(!isRetryable(networkError(withCode('ECONNREFUSED'), 'r')));
    const existing = new RegistryError('x', { registry: 'r' });
    assert.equal(networkError(existing, 'r'), existing);
  });

  it('parses Retry-After seconds and dates', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});
