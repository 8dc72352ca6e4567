// Turns Dockerfile text into logical lines: parser directives at the top, comments dropped, line
// continuations joined (comment and empty lines inside a continuation are skipped, as BuildKit
// does), and heredoc bodies read on request.
import { InstructionError } from './errors';
import type { EscapeChar } from './types';

export interface LogicalLine {
  text: string;
  line: number;
  endLine: number;
  hadEmptyContinuation: boolean;
}

export interface Directives {
  escape: EscapeChar;
  syntax?: string;
  check?: string;
}

const directivePattern = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const knownDirectives = new Set(['escape', 'syntax', 'check']);

/** Error located at a physical line (directive and heredoc problems). */
export class LineError extends Error {
  constructor(
    readonly line: number,
    readonly problem: InstructionError,
  ) {
    super(problem.message);
  }
}

const isBlank = (s: string) => /^\s*$/u.test(s);
const isCommentLine = (s: string) => /^\s*#/u.test(s);

export class LineReader {
  private readonly lines: string[];
  private index = 0;
  private directivesDone = false;
  private readonly seen = new Set<string>();
  readonly directives: Directives = { escape: '\\' };
  private continuation = continuationPattern('\\');

  constructor(text: string) {
    const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
    this.lines = body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    // A final newline does not start another line.
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] === '' ) this.lines.pop();
  }

  /** Number of physical lines read so far (= the 1-based number of the last line read). */
  get linesRead(): number {
    return this.index;
  }

  private checkDirective(line: string, lineNo: number): void {
    if (this.directivesDone) return;
    const m = directivePattern.exec(line);
    const key = m?.[1].toLowerCase();
    if (!m || !key || !knownDirectives.has(key)) {
      this.directivesDone = true;
      return;
    }
    if (this.seen.has(key)) {
      throw new LineError(lineNo, new InstructionError(`the ${key} parser directive is given twice`, `only one # ${key}= line`));
    }
    this.seen.add(key);
    const value = m[2];
    if (key === 'escape') {
      if (value !== '\\' && value !== '`') {
        throw new LineError(lineNo, new InstructionError(`invalid escape character ${JSON.stringify(value)} in # escape=`, '# escape=\\ or # escape=`'));
      }
      this.directives.escape = value;
      this.continuation = continuationPattern(value);
    } else if (key === 'syntax') {
      this.directives.syntax = value;
    } else {
      this.directives.check = value;
    }
  }

  private stripContinuation(line: string): { text: string; continues: boolean } {
    if (this.continuation.test(line)) return { text: line.replace(this.continuation, '$1'), continues: true };
    return { text: line, continues: false };
  }

  /** The next instruction line, or undefined at the end of the file. */
  next(): LogicalLine | undefined {
    while (this.index < this.lines.length) {
      const lineNo = this.index + 1;
      const first = this.lines[this.index++].replace(/^\s+/u, '');
      this.checkDirective(first, lineNo);
      if (first.startsWith('#')) continue;
      let { text, continues } = this.stripContinuation(first);
      if (!continues && text === '') continue;
      let hadEmptyContinuation = false;
      while (continues && this.index < this.lines.length) {
        const raw = this.lines[this.index++];
        this.checkDirective(raw, this.index);
        if (isCommentLine(raw)) continue;
        if (isBlank(raw)) {
          hadEmptyContinuation = true;
          continue;
        }
        const part = this.stripContinuation(raw);
        text += part.text;
        continues = part.continues;
      }
      return { text, line: lineNo, endLine: this.index, hadEmptyContinuation };
    }
    return undefined;
  }

  /** Reads a heredoc body up to its terminator line; undefined if the file ends first. */
  readHeredoc(name: string, chomp: boolean): string | undefined {
    let content = '';
    while (this.index < this.lines.length) {
      const raw = this.lines[this.index++];
      const candidate = chomp ? raw.replace(/^\t+/, '') : raw;
      if (candidate === name) return content;
      content += raw + '\n';
    }
    return undefined;
  }
}

// The escape character as the last non-blank character continues the line, unless it is itself
// escaped (the same regular expression BuildKit uses).
function continuationPattern(escape: string): RegExp {
  const e = escape === '\\' ? '\\\\' : escape;
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}
