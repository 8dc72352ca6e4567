// Bounded retries with exponential backoff, shared by the controller check and the jar download.
import { UserError } from '../log';

export interface BackoffOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** injectable for tests */
  sleep?: (ms: number) => Promise<void>;
}

export const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Delay before attempt n+1 after attempt n (1-based) failed. */
export function delayAfter(attempt: number, o: BackoffOptions): number {
  return Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** (attempt - 1));
}

function positiveInt(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${name}=${raw}: expected a whole number >= 0`, { exitCode: 2 });
  return n;
}

/** DRYDOCK_AGENT_CHECK_ATTEMPTS (8), DRYDOCK_AGENT_CHECK_DELAY_MS (1000), DRYDOCK_AGENT_CHECK_MAX_DELAY_MS (30000). */
export function backoffFromEnv(env: Record<string, string | undefined>): BackoffOptions {
  return {
    attempts: Math.max(1, positiveInt(env, 'DRYDOCK_AGENT_CHECK_ATTEMPTS', 8)),
    initialDelayMs: positiveInt(env, 'DRYDOCK_AGENT_CHECK_DELAY_MS', 1000),
    maxDelayMs: positiveInt(env, 'DRYDOCK_AGENT_CHECK_MAX_DELAY_MS', 30000),
  };
}
