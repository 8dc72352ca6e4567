// The AWS SDKs' "standard" retry mode, for the calls made here (S3 GetObject, the JSON protocol's
// SSM and ECR calls): at most 3 attempts; retried on network errors, 5xx, 429 and the throttling
// and transient error codes; the wait before attempt n+1 is random in [0, min(20 s, base * 2^n))
// ("full jitter"), base 100 ms, 500 ms after throttling. Only a call whose answer has not been
// handed to the caller is retried.

export const MAX_ATTEMPTS = 3;

const THROTTLING = new Set([
  'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottledException', 'TooManyRequestsException',
  'ProvisionedThroughputExceededException', 'TransactionInProgressException', 'RequestLimitExceeded',
  'BandwidthLimitExceeded', 'LimitExceededException', 'RequestThrottled', 'SlowDown', 'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const TRANSIENT = new Set(['RequestTimeout', 'RequestTimeoutException', 'InternalError', 'InternalFailure', 'ServiceUnavailable']);

export function isThrottling(code: string, status: number): boolean {
  return status === 429 || THROTTLING.has(code);
}

/** Whether an error answer (status and error code) is worth another attempt. */
export function isRetryableAnswer(code: string, status: number): boolean {
  return status >= 500 || isThrottling(code, status) || TRANSIENT.has(code);
}

/** Test hook: how the wait is taken. */
export const retryClock = { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), random: Math.random };

/** Wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoff(attempt: number, throttled: boolean): Promise<void> {
  const base = throttled ? 500 : 100;
  return retryClock.sleep(Math.floor(retryClock.random() * Math.min(20_000, base * 2 ** attempt)));
}
