// Builder flags (--name=value, --name) written between an instruction keyword and its arguments.
import { InstructionError } from './errors';

const isSpace = (ch: string): boolean => /\s/u.test(ch);

/**
 * Takes the leading words that start with "--" off an instruction's arguments. Quotes are removed
 * from flag words and a backslash escapes the next character (Docker always uses a backslash here,
 * whatever the escape directive says). A lone "--" ends the flags.
 */
export function extractFlags(args: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  let blankOk = false;
  const chars = Array.from(args);
  let offset = 0; // UTF-16 offset of chars[i], to slice `args`
  for (let i = 0; i <= chars.length; offset += chars[i]?.length ?? 0, i++) {
    const atEnd = i === chars.length;
    const ch = chars[i];
    if (!inWord) {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || chars[i + 1] !== '-') return { flags, rest: args.slice(offset).trim() };
      inWord = true;
    }
    if (atEnd) {
      if (word !== '--' && (blankOk || word.length > 0)) flags.push(word);
      break;
    }
    if (quote !== undefined) {
      if (ch === quote) {
        quote = undefined;
        continue;
      }
    } else if (isSpace(ch)) {
      inWord = false;
      if (word === '--') return { flags, rest: args.slice(offset).trim() };
      if (blankOk || word.length > 0) flags.push(word);
      word = '';
      blankOk = false;
      continue;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      blankOk = true;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 === chars.length) continue;
      offset += ch.length;
      i++;
      word += chars[i];
      continue;
    }
    word += ch;
  }
  return { flags, rest: '' };
}

export type FlagKind = 'string' | 'bool' | 'list';

/** The flags an instruction accepts, by name without the leading dashes. */
export type FlagSpec = Record<string, FlagKind>;

export type FlagValues = Record<string, string | boolean | string[]>;

export const instructionFlags: Record<string, FlagSpec> = {
  from: { platform: 'string' },
  run: { mount: 'list', network: 'string', security: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'list' },
  add: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    exclude: 'list',
    checksum: 'string',
    'keep-git-dir': 'bool',
    unpack: 'bool',
  },
  healthcheck: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

function expectedFlags(keyword: string, spec: FlagSpec): string {
  const names = Object.keys(spec);
  if (names.length === 0) return `no flags on ${keyword}`;
  return `one of ${names.map((n) => '--' + n).join(', ')}`;
}

/** Validates flag words against what the instruction accepts and returns their values. */
export function parseFlags(keyword: string, words: string[]): FlagValues {
  const spec = instructionFlags[keyword.toLowerCase()] ?? {};
  const upper = keyword.toUpperCase();
  const values: FlagValues = {};
  for (const word of words) {
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = spec[name];
    if (kind === undefined) {
      throw new InstructionError(`unknown flag --${name} for ${upper}`, expectedFlags(upper, spec));
    }
    if (kind !== 'list' && name in values) {
      throw new InstructionError(`duplicate flag --${name} for ${upper}`, 'each flag at most once');
    }
    if (kind === 'bool') {
      if (value === undefined || value.toLowerCase() === 'true') values[name] = true;
      else if (value.toLowerCase() === 'false') values[name] = false;
      else throw new InstructionError(`flag --${name} of ${upper} has value ${JSON.stringify(value)}`, `--${name}, --${name}=true or --${name}=false`);
      continue;
    }
    if (value === undefined) {
      throw new InstructionError(`flag --${name} of ${upper} has no value`, `--${name}=<value>`);
    }
    if (kind === 'list') {
      const list = (values[name] as string[] | undefined) ?? [];
      list.push(value);
      values[name] = list;
    } else {
      values[name] = value;
    }
  }
  return values;
}
