// Go duration strings ("30s", "1m30s", "1.5h", "500ms"), which HEALTHCHECK flags use.
import { InstructionError } from './errors';

const unitNs: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Parses a Go duration into nanoseconds. */
export function parseGoDuration(text: string): number {
  const bad = () => new InstructionError(`invalid duration ${JSON.stringify(text)}`, 'a duration such as 30s, 1m30s or 500ms');
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  const part = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== '') {
    const m = part.exec(s);
    if (!m || m[1] === '' || m[1] === '.') throw bad();
    total += parseFloat(m[1]) * unitNs[m[2]];
    s = s.slice(m[0].length);
  }
  return sign * Math.round(total);
}
