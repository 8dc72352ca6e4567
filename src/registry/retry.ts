// The one retry policy of the registry client: transient failures (408, 429, 5xx, connection
// resets, timeouts; see errors.ts) are retried with exponential backoff and jitter, honouring
// Retry-After. The operation is re-run from scratch, so request bodies come from openers.
import type { Logger } from '../log';
import { isRetryable, RegistryError } from './errors';

export interface RetryPolicy {
  /** Extra attempts after the first (kaniko's --push-retry / --image-download-retry). */
  retries: number;
  /** First backoff delay; doubles each attempt. */
  baseDelayMs: number;
  /** Upper bound for one delay, including a server's Retry-After. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30000 };

export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(exp / 2 + (exp / 2) * random()); // "equal jitter": spreads clients, keeps a floor
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run `fn` until it succeeds, fails with a non-transient error, or the attempts are used up. */
export async function withRetries<T>(policy: RetryPolicy, what: string, log: Logger, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const e = err as RegistryError;
      if (attempt >= policy.retries) {
        if (policy.retries === 0) throw e;
        throw new RegistryError(`${e.message} (gave up after ${attempt + 1} attempts)`, {
          registry: e.registry, repository: e.repository, status: e.status, code: e.code, cause: e,
        });
      }
      const delay = backoffDelay(policy, attempt, e.retryAfterMs);
      log.warn(`${what}: ${e.message}; retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 2} of ${policy.retries + 1})`);
      await sleep(delay);
    }
  }
}
