// Pull/push progress for a person watching: on a terminal, one line per blob redrawn in place;
// elsewhere (pipes, Jenkins consoles, JSON logs) plain lines at most every few seconds per blob.
import type { Logger } from './logger';

export interface ProgressEvent {
  digest: string;
  done: number;
  total: number;
  direction: 'pull' | 'push';
}

export interface ProgressReporter {
  (e: ProgressEvent): void;
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/** Jenkins sets these in every build; its console shows carriage returns as garbage. */
function inJenkins(env: NodeJS.ProcessEnv): boolean {
  return !!(env.JENKINS_URL || env.BUILD_URL || env.JENKINS_HOME);
}

export function progressReporter(log: Logger, opts: { stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv; intervalMs?: number; minBytes?: number } = {}): ProgressReporter {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  const interactive = !!stream.isTTY && !inJenkins(env) && log.format !== 'json';
  const interval = opts.intervalMs ?? (interactive ? 200 : 5000);
  // small blobs finish before anyone could read a progress line
  const minBytes = opts.minBytes ?? 4 * 1024 * 1024;
  const last = new Map<string, number>();
  return (e) => {
    if (!log.enabled('info') || e.total < minBytes) return;
    const key = `${e.direction}:${e.digest}`;
    const now = Date.now();
    const finished = e.done >= e.total;
    const prev = last.get(key);
    if (prev === undefined) {
      // the first line comes one interval in: quick transfers print only their end
      last.set(key, now);
      if (!finished) return;
    } else if (!finished && now - prev < interval) return;
    last.set(key, now);
    const verb = e.direction === 'pull' ? 'pulling' : 'pushing';
    const pct = e.total ? Math.floor((100 * e.done) / e.total) : 100;
    const text = `${verb} ${e.digest.slice(7, 19)}: ${mb(e.done)}/${mb(e.total)} MB (${pct}%)`;
    if (interactive) {
      stream.write(`\r\x1b[K${text}${finished ? '\n' : ''}`);
    } else {
      log.info(text);
    }
    if (finished) last.delete(key);
  };
}
