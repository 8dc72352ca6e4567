// .dockerignore with Docker/BuildKit semantics (moby/patternmatcher and its ignorefile reader):
// comments, blank lines, leading "/" and "./" dropped, paths cleaned, "*", "?", "[...]" and "**"
// globs, "!" exceptions where the last matching pattern wins, and a pattern that matches a
// directory also matches everything below it.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../log';

export interface IgnorePattern {
  /** The cleaned pattern without its "!" prefix. */
  pattern: string;
  /** True for "!pattern" lines, which re-include what earlier patterns excluded. */
  exclusion: boolean;
  /** 1-based line in the ignore file. */
  line: number;
  /** Where the pattern came from in errors, when not `<file>:<line>` (COPY --exclude). */
  at?: string;
}

export interface IgnoreMatcher {
  readonly patterns: readonly IgnorePattern[];
  /** The file the patterns came from, undefined when there was none. */
  readonly source?: string;
  /**
   * True when the context path (relative, "/"-separated) is excluded. `isDir` is accepted for
   * callers' convenience; Docker's patterns do not distinguish directories (a trailing "/" is
   * cleaned away), so it does not change the answer.
   */
  matches(relPath: string, isDir: boolean): boolean;
  /**
   * False only when no exception ("!" pattern) can re-include anything below `relDir`, so a walker
   * may skip an excluded directory without reading it. Conservative (true) whenever an exception
   * holds wildcards, as in BuildKit's fsutil walker.
   */
  mayHaveExceptionsUnder(relDir: string): boolean;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface CompiledPattern extends IgnorePattern {
  type: MatchType;
  regexp?: RegExp;
}

/** Go's filepath.Clean for "/"-separated paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const normalized = path.posix.normalize(p);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** A context-relative path as the matcher sees it: cleaned, without leading "/" or "./". */
function normalizeRelPath(p: string): string {
  let cleaned = cleanPath(p);
  while (cleaned.startsWith('/')) cleaned = cleaned.slice(1);
  return cleaned === '' ? '.' : cleaned;
}

const regexpSpecial = '.+()|{}$';

// Translates one cleaned pattern the way patternmatcher does, including its shortcuts for plain
// names (exact), "dir/**" (prefix) and "**/name" (suffix).
function compile(p: IgnorePattern, file: string): CompiledPattern {
  const chars = Array.from(p.pattern);
  let re = '^';
  let type: MatchType = 'exact';
  for (let i = 0, iteration = 0; i < chars.length; i++, iteration++) {
    const ch = chars[i];
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) {
          // A trailing "**" matches everything below, as in .gitignore.
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (iteration === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (regexpSpecial.includes(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      const next = chars[i + 1];
      if (next === undefined) {
        throw new UserError(`${p.at ?? `${file}:${p.line}`}: pattern ${JSON.stringify(p.pattern)} ends with a backslash, expected a character after "\\"`);
      }
      i++;
      re += /[A-Za-z0-9]/.test(next) ? next : '\\' + next;
      type = 'regexp';
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  const compiled: CompiledPattern = { ...p, type };
  // Compile in every case: it is also the syntax check (e.g. an unclosed "[").
  try {
    const regexp = new RegExp(re + '$');
    if (type === 'regexp') compiled.regexp = regexp;
  } catch {
    throw new UserError(`${p.at ?? `${file}:${p.line}`}: invalid pattern ${JSON.stringify(p.pattern)}, expected a glob with balanced [ ]`);
  }
  return compiled;
}

function matchOne(p: CompiledPattern, file: string): boolean {
  switch (p.type) {
    case 'exact':
      return file === p.pattern;
    case 'prefix':
      return file.startsWith(p.pattern.slice(0, -2));
    case 'suffix': {
      const suffix = p.pattern.slice(2);
      if (file.endsWith(suffix)) return true;
      // "**/foo" also matches "foo" at the top.
      return suffix.startsWith('/') && file === suffix.slice(1);
    }
    case 'regexp':
      return (p.regexp as RegExp).test(file);
  }
}

class PatternMatcher implements IgnoreMatcher {
  private readonly compiled: CompiledPattern[];
  private readonly hasExclusions: boolean;
  private readonly exclusionsArePlain: boolean;

  constructor(
    readonly patterns: readonly IgnorePattern[],
    file: string,
    readonly source?: string,
  ) {
    this.compiled = patterns.map((p) => compile(p, file));
    const exclusions = patterns.filter((p) => p.exclusion);
    this.hasExclusions = exclusions.length > 0;
    this.exclusionsArePlain = exclusions.every((p) => !/[*[\]?^\\]/.test(p.pattern));
  }

  matches(relPath: string, _isDir: boolean): boolean {
    const file = normalizeRelPath(relPath);
    // Excluding the context root itself would exclude everything; Docker never does.
    if (file === '.') return false;
    const parent = path.posix.dirname(file);
    const parentDirs = parent === '.' ? [] : parent.split('/');
    let matched = false;
    for (const p of this.compiled) {
      // An inclusion cannot change an already excluded path, nor an exception an included one.
      if (p.exclusion !== matched) continue;
      let match = matchOne(p, file);
      for (let i = 0; !match && i < parentDirs.length; i++) {
        match = matchOne(p, parentDirs.slice(0, i + 1).join('/'));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  mayHaveExceptionsUnder(relDir: string): boolean {
    if (!this.hasExclusions) return false;
    if (!this.exclusionsArePlain) return true;
    const dir = normalizeRelPath(relDir);
    const dirSlash = dir === '.' ? '' : dir + '/';
    return this.compiled.some((p) => p.exclusion && (p.pattern + '/').startsWith(dirSlash));
  }
}

/** Reads the lines of a .dockerignore file into patterns (the ignorefile rules). */
export function readIgnorePatterns(text: string, file = '.dockerignore'): IgnorePattern[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const patterns: IgnorePattern[] = [];
  body.split('\n').forEach((rawLine, index) => {
    // A comment only when "#" is the very first character.
    if (rawLine.startsWith('#')) return;
    const p = toPattern(rawLine, index + 1, `${file}:${index + 1}`);
    if (p) patterns.push(p);
  });
  return patterns;
}

/** One pattern as the ignorefile reader leaves it: trimmed, "!" split off, cleaned, no leading "/". */
function toPattern(raw: string, line: number, at: string): IgnorePattern | undefined {
  let pattern = raw.trim();
  if (pattern === '') return undefined;
  const exclusion = pattern.startsWith('!');
  if (exclusion) pattern = pattern.slice(1).trim();
  if (pattern !== '') {
    pattern = cleanPath(pattern);
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
  }
  if (exclusion && pattern === '') {
    throw new UserError(`${at}: "!" without a pattern, expected !<pattern> to re-include paths`);
  }
  // patternmatcher cleans once more; a no-op except for patterns that began with "/".
  return { pattern: cleanPath(pattern), exclusion, line };
}

/**
 * COPY/ADD --exclude patterns: BuildKit gives them to the same pattern matcher as .dockerignore
 * ("!" exceptions included), matched against the paths inside each source. `where` names the
 * instruction in errors.
 */
export function excludeMatcher(raw: readonly string[], where: string): IgnoreMatcher {
  const patterns = raw.flatMap((r, i) => {
    const at = `${where}: --exclude=${r}`;
    const p = toPattern(r, i + 1, at);
    return p ? [{ ...p, at }] : [];
  });
  return new PatternMatcher(patterns, where, undefined);
}

/** Parses .dockerignore text into a matcher. `file` names the file in error messages. */
export function parseDockerignore(text: string, file = '.dockerignore'): IgnoreMatcher {
  return new PatternMatcher(readIgnorePatterns(text, file), file, undefined);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UserError(`cannot read ignore file ${file}: ${(err as Error).message}, expected a readable file`, { cause: err });
  }
}

/**
 * Loads the ignore rules for a build. Like BuildKit, a `<Dockerfile name>.dockerignore` next to
 * the Dockerfile wins over `<context>/.dockerignore`. A relative dockerfilePath is taken relative
 * to the context directory. With neither file, nothing is ignored.
 */
export async function loadDockerignore(contextDir: string, dockerfilePath: string): Promise<IgnoreMatcher> {
  const dockerfile = path.resolve(contextDir, dockerfilePath);
  const candidates = [`${dockerfile}.dockerignore`, path.join(contextDir, '.dockerignore')];
  for (const candidate of candidates) {
    const text = await readIfExists(candidate);
    if (text !== undefined) {
      return new PatternMatcher(readIgnorePatterns(text, candidate), candidate, candidate);
    }
  }
  return new PatternMatcher([], '.dockerignore', undefined);
}
