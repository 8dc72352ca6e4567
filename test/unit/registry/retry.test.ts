import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { backoffDelay, withRetries, type RetryPolicy } from '../../../src/registry/retry';
import { RegistryError } from '../../../src/registry/errors';
import { Logger } from '../../../src/log';

const lines: string[] = [];
const quiet = new Logger({ stream: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
const policy: RetryPolicy = { retries: 2, baseDelayMs: 1, maxDelayMs: 50 };
const transient = () => new RegistryError('registry r answered 503', { registry: 'r', status: 503, retryable: true });

describe('registry/retry', () => {
  it('grows the delay exponentially with jitter, capped, and honours Retry-After', () => {
    const p: RetryPolicy = { retries: 5, baseDelayMs: 1000, maxDelayMs: 5000 };
    assert.equal(backoffDelay(p, 0, undefined, () => 0), 500);
    assert.equal(backoffDelay(p, 0, undefined, () => 1), 1000);
    assert.equal(backoffDelay(p, 2, undefined, () => 1), 4000);
    assert.equal(backoffDelay(p, 5, undefined, () => 1), 5000);
    assert.equal(backoffDelay(p, 0, 2500), 2500);
    assert.equal(backoffDelay(p, 0, 60000), 5000);
  });

  it('retries transient errors until success', async () => {
    let calls = 0;
    const r = await withRetries(policy, 'op', quiet, async () => {
      if (++calls < 3) throw transient();
      return 'ok';
    });
    assert.equal(r, 'ok');
    assert.equal(calls, 3);
    assert.match(lines.join(''), /op: registry r answered 503; retrying in .* \(attempt 2 of 3\)/);
  });

  it('gives up after the configured attempts, saying so', async () => {
    let calls = 0;
    await assert.rejects(withRetries(policy, 'op', quiet, async () => { calls++; throw transient(); }), /answered 503 \(gave up after 3 attempts\)/);
    assert.equal(calls, 3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await assert.rejects(withRetries(policy, 'op', quiet, async () => { calls++; throw new RegistryError('denied', { registry: 'r', status: 403 }); }), /denied/);
    assert.equal(calls, 1);
  });
});
