// One logger for the whole process: levels, text or JSON lines, and redaction of every message.
import { redact } from './redact';

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'panic';
export type Format = 'text' | 'color' | 'json';

const order: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, panic: 6 };

export interface LoggerOptions {
  level?: Level;
  format?: Format;
  stream?: NodeJS.WritableStream;
  timestamps?: boolean;
}

export class Logger {
  level: Level;
  format: Format;
  /** unset: process.stderr, looked up at each write (a startup snapshot made this logger in another process) */
  stream: NodeJS.WritableStream | undefined;
  timestamps: boolean;
  private fields: Record<string, unknown>;

  constructor(opts: LoggerOptions = {}, fields: Record<string, unknown> = {}) {
    this.level = opts.level ?? 'info';
    this.format = opts.format ?? 'text';
    this.stream = opts.stream;
    this.timestamps = opts.timestamps ?? false;
    this.fields = fields;
  }

  /** Write text already formatted (and redacted), e.g. a line a worker thread's logger made. */
  raw(text: string): void {
    (this.stream ?? process.stderr).write(text);
  }

  configure(opts: LoggerOptions): void {
    if (opts.level) this.level = opts.level;
    if (opts.format) this.format = opts.format;
    if ('stream' in opts) this.stream = opts.stream; // undefined: back to process.stderr
    if (opts.timestamps !== undefined) this.timestamps = opts.timestamps;
  }

  /** A logger that adds fixed fields (e.g. {component: 'registry'}) and shares this one's settings. */
  child(fields: Record<string, unknown>): Logger {
    const c = Object.create(this) as Logger;
    c.fields = { ...this.fields, ...fields };
    return c;
  }

  enabled(level: Level): boolean {
    return order[level] >= order[this.level];
  }

  log(level: Level, msg: string, extra?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const all = { ...this.fields, ...extra };
    let line: string;
    if (this.format === 'json') {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...all });
    } else {
      const kv = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      const prefix = this.timestamps ? `${new Date().toISOString()} ` : '';
      const lvl = level === 'info' ? '' : `${level.toUpperCase()} `;
      line = `${prefix}${lvl}${msg}${kv ? ' ' + kv : ''}`;
    }
    this.raw(redact(line) + '\n');
  }

  trace(msg: string, extra?: Record<string, unknown>): void { this.log('trace', msg, extra); }
  debug(msg: string, extra?: Record<string, unknown>): void { this.log('debug', msg, extra); }
  info(msg: string, extra?: Record<string, unknown>): void { this.log('info', msg, extra); }
  warn(msg: string, extra?: Record<string, unknown>): void { this.log('warn', msg, extra); }
  error(msg: string, extra?: Record<string, unknown>): void { this.log('error', msg, extra); }
}

/** The process-wide logger; CLIs configure it from --verbosity/--log-format. */
export const log = new Logger();

export function parseLevel(s: string): Level {
  const l = s.toLowerCase();
  if (l in order) return l as Level;
  throw new Error(`invalid verbosity "${s}": expected one of ${Object.keys(order).join(', ')}`);
}

export function parseFormat(s: string): Format {
  if (s === 'text' || s === 'color' || s === 'json') return s;
  throw new Error(`invalid log format "${s}": expected text, color or json`);
}
