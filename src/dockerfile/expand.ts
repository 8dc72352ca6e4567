// Shell-word expansion for Dockerfile arguments, following the rules of BuildKit's shell lexer
// (frontend/dockerfile/shell/lex.go): quotes, the escape character, $VAR / ${VAR} and the
// ${VAR<op>word} forms. The parser keeps words unexpanded; the builder calls these functions at
// execution time with the stage's current ARG/ENV values.
//
// One deliberate extension: ${#VAR} (length) is supported. BuildKit rejects it as an
// "unsupported modifier", so no Dockerfile that builds with Docker changes meaning.

/** Returns the value of a variable, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

/** A syntax or ${VAR?message} failure while expanding a word. The builder adds file and line. */
export class ExpansionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpansionError';
  }
}

export interface LexOptions {
  escape: string;
  lookup: Lookup;
  /** Keep quote characters in the output (used to tell quoted heredoc names apart). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnset?: boolean;
  /** Do not treat quotes specially. */
  skipQuotes?: boolean;
}

export interface LexResult {
  /** The expanded text, quotes removed, whitespace kept. */
  word: string;
  /** The expanded text split into words (unquoted whitespace separates, also inside values). */
  words: string[];
}

const noVariables: Lookup = () => undefined;

/** Expands one word: variables replaced, quotes and escapes removed, whitespace kept. */
export function expandWord(word: string, lookup: Lookup, escape = '\\'): string {
  return lexWord(word, { escape, lookup }).word;
}

/** Expands text and splits it into words the way BuildKit's ProcessWords does. */
export function expandWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  return lexWord(text, { escape, lookup }).words;
}

/** Removes quotes and escapes without expanding variables (they stay as written). */
export function unquoteWord(word: string, escape = '\\'): string {
  return lexWord(word, { escape, lookup: noVariables, skipUnset: true }).word;
}

export function lexWord(text: string, options: LexOptions): LexResult {
  const lexer = new ShellLexer(text, options);
  try {
    const { word, words } = lexer.processUntil(undefined, options.rawEscapes ?? false);
    return { word, words };
  } catch (err) {
    if (err instanceof ExpansionError) {
      throw new ExpansionError(`failed to expand ${JSON.stringify(text)}: ${err.message}`);
    }
    throw err;
  }
}

const isSpace = (ch: string): boolean => /\s/u.test(ch);
const isLetter = (ch: string): boolean => /\p{L}/u.test(ch);
const isDigit = (ch: string): boolean => /\p{Nd}/u.test(ch);
const specialParams = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/** Collects words: unquoted whitespace ends a word, quoted text never does. */
class WordCollector {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
      return;
    }
    this.addRaw(ch);
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  addRaw(text: string): void {
    this.word += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class ShellLexer {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;

  constructor(text: string, private readonly o: LexOptions) {
    this.chars = Array.from(text);
    this.rawEscapes = o.rawEscapes ?? false;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  private atEnd(): boolean {
    return this.pos >= this.chars.length;
  }

  /** Processes text until `stop` (consumed) or the end; errors if `stop` is never found. */
  processUntil(stop: string | undefined, rawEscapes: boolean): LexResult {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new WordCollector();
      while (!this.atEnd()) {
        const ch = this.peek() as string;
        if (stop !== undefined && ch === stop) {
          this.next();
          return { word: result, words: words.finish() };
        }
        if (ch === '$') {
          const value = this.processDollar();
          result += value;
          words.addString(value);
          continue;
        }
        if (!this.o.skipQuotes && (ch === "'" || ch === '"')) {
          const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += value;
          words.addRaw(value);
          continue;
        }
        let c = this.next() as string;
        if (c === this.o.escape) {
          if (this.rawEscapes) {
            words.addRaw(c);
            result += c;
          }
          const escaped = this.next();
          if (escaped === undefined) break; // an escape at the very end is dropped
          c = escaped;
          words.addRaw(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (stop !== undefined) {
        throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
      }
      return { word: result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Everything between single quotes is literal; a single quote cannot be escaped inside.
  private processSingleQuote(): string {
    let result = this.o.rawQuotes ? "'" : '';
    this.next();
    for (;;) {
      const ch = this.next();
      if (ch === undefined) {
        throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      }
      if (ch === "'") return this.o.rawQuotes ? result + ch : result;
      result += ch;
    }
  }

  // Inside double quotes only $ expands, and the escape character escapes only ", $ and itself.
  private processDoubleQuote(): string {
    let result = this.o.rawQuotes ? '"' : '';
    this.next();
    for (;;) {
      const peeked = this.peek();
      if (peeked === undefined) {
        throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      }
      if (peeked === '"') {
        this.next();
        return this.o.rawQuotes ? result + '"' : result;
      }
      if (peeked === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next() as string;
      if (ch === this.o.escape) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === this.o.escape) ch = this.next() as string;
      }
      result += ch;
    }
  }

  private processName(): string {
    let name = '';
    while (!this.atEnd()) {
      const ch = this.peek() as string;
      if (name === '' && isDigit(ch)) {
        while (!this.atEnd() && isDigit(this.peek() as string)) name += this.next();
        return name;
      }
      if (name === '' && specialParams.has(ch)) {
        this.next();
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private get(name: string): { value: string; set: boolean } {
    const value = this.o.lookup(name);
    return value === undefined ? { value: '', set: false } : { value, set: true };
  }

  private processDollar(): string {
    this.next(); // $
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const { value, set } = this.get(name);
      if (!set && this.o.skipUnset) return '$' + name;
      return value;
    }
    this.next(); // {
    const first = this.peek();
    if (first === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ExpansionError('syntax error: bad substitution');

    const length = this.tryLength();
    if (length !== undefined) return length;

    const name = this.processName();
    let op = this.next();
    if (op === undefined) throw new ExpansionError("syntax error: missing '}'");
    let ops = op;
    let nullIsUnset = false;

    if (op === '}') {
      const { value, set } = this.get(name);
      if (!set && this.o.skipUnset) return '${' + name + '}';
      return value;
    }
    if (op === ':') {
      nullIsUnset = true;
      op = this.next();
      if (op === undefined) throw new ExpansionError("syntax error: missing '}'");
      ops += op;
    }
    if (op === '/' && !nullIsUnset) return this.processReplace(name);
    if (!['+', '-', '?', '#', '%'].includes(op)) {
      throw new ExpansionError(`unsupported modifier (${ops}) in substitution`);
    }
    const patternOp = op === '#' || op === '%';
    let word: string;
    try {
      word = this.processUntil('}', patternOp).word;
    } catch (err) {
      if (this.atEnd()) throw new ExpansionError("syntax error: missing '}'");
      throw err;
    }
    const { value, set } = this.get(name);
    if (this.o.skipUnset && !set) return '${' + name + ops + word + '}';
    const empty = !set || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return empty ? word : value;
      case '+':
        return empty ? '' : word;
      case '?':
        if (!set) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new ExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        let greedy = false;
        if (word.startsWith(op)) {
          greedy = true;
          word = word.slice(1);
        }
        return op === '%' ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy);
      }
    }
  }

  // ${#NAME}: the length of NAME's value in characters (extension; see the file comment).
  private tryLength(): string | undefined {
    if (this.peek() !== '#') return undefined;
    const start = this.pos;
    this.next();
    const after = this.peek();
    if (after === undefined || !(isLetter(after) || after === '_')) {
      this.pos = start;
      return undefined;
    }
    const name = this.processName();
    if (this.peek() !== '}') {
      this.pos = start;
      return undefined;
    }
    this.next();
    const { value, set } = this.get(name);
    if (!set && this.o.skipUnset) return '${#' + name + '}';
    return String(Array.from(value).length);
  }

  private processReplace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    let pattern: string;
    let replacement: string;
    try {
      pattern = this.processUntil('/', true).word;
    } catch (err) {
      if (this.atEnd()) throw new ExpansionError("syntax error: missing '/' in ${}");
      throw err;
    }
    try {
      replacement = this.processUntil('}', true).word;
    } catch (err) {
      if (this.atEnd()) throw new ExpansionError("syntax error: missing '}'");
      throw err;
    }
    const { value, set } = this.get(name);
    if (this.o.skipUnset && !set) return '${' + name + '/' + pattern + '/' + replacement + '}';
    const re = shellPatternToRegex(pattern, true, false, all);
    return value.replace(re, () => replacement);
  }
}

/**
 * Converts a shell wildcard pattern (`*`, `?`, `\` escapes; no bracket expressions, as in
 * BuildKit) to a regular expression. `*` is lazy unless greedy.
 */
export function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      out += star;
    } else if (ch === '?') {
      out += '.';
    } else if (ch === '\\') {
      const after = chars[i + 1];
      // Inside ${} a } or / must be escaped, but the escape is not part of the pattern.
      if (after === '}' || after === '/') continue;
      if (after !== '*' && after !== '?' && after !== '\\') {
        throw new ExpansionError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${after ?? ''}'`);
      }
      out += '\\' + after;
      i++;
    } else if ('[]{}.+()|^$'.includes(ch)) {
      out += '\\' + ch;
    } else {
      out += ch;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// A regular expression cannot find the shortest match anchored at the end, so both the pattern
// and the value are reversed and the problem becomes a prefix match.
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversed = trimPrefix(reversePattern(pattern), Array.from(value).reverse().join(''), greedy);
  return Array.from(reversed).reverse().join('');
}

/** Reverses a pattern keeping each escape in front of the character it escapes. */
export function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const tokens: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\' && i + 1 < chars.length) {
      tokens.push('\\' + chars[i + 1]);
      i++;
    } else {
      tokens.push(chars[i]);
    }
  }
  return tokens.reverse().join('');
}
