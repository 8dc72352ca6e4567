// Splitting instruction arguments into words without expanding them, the way Docker's line
// parsers do before the builder expands each word.
import { InstructionError } from './errors';
import { expandWord, type Lookup } from './expand';
import type { ArgDefinition, KeyValue } from './types';

const isSpace = (ch: string): boolean => /\s/u.test(ch);

/** Splits on whitespace, ignoring quotes (Docker does this for FROM, EXPOSE, COPY and ADD). */
export function splitOnWhitespace(text: string): string[] {
  return text.split(/[\t\v\f\r ]+/).filter((w) => w !== '');
}

/**
 * Splits into words on unquoted whitespace, keeping quotes and escape characters in the words
 * (the builder removes them when it expands each word). Used for ARG, ENV and LABEL.
 */
export function splitQuotedWords(text: string, escape: string): string[] {
  const chars = Array.from(text);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  let blankOk = false;
  const flush = () => {
    if (blankOk || word.length > 0) words.push(word);
    word = '';
    blankOk = false;
    inWord = false;
  };
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i];
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      // Inside single quotes the escape character is literal.
      else if (ch === escape && quote !== "'") {
        if (i + 1 === chars.length) break;
        word += ch;
        ch = chars[++i];
      }
      word += ch;
      continue;
    }
    if (!inWord) {
      if (isSpace(ch)) continue;
      inWord = true;
    }
    if (isSpace(ch)) {
      flush();
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      blankOk = true;
    } else if (ch === escape) {
      if (i + 1 === chars.length) continue; // a trailing escape is dropped
      word += ch;
      ch = chars[++i];
    }
    word += ch;
  }
  if (inWord || quote !== undefined) flush();
  return words;
}

/**
 * Parses ENV/LABEL arguments: `k=v k2="v 2"` or the legacy `k value with spaces`. With a lookup,
 * keys and values are expanded (all against the same lookup, as Docker does within one
 * instruction); with null they are returned exactly as written.
 */
export function parseKeyValues(text: string, lookup: Lookup | null, escape = '\\', keyword = 'ENV'): KeyValue[] {
  const words = splitQuotedWords(text, escape);
  if (words.length === 0) {
    throw new InstructionError(`${keyword} has no arguments`, `${keyword} <key>=<value> ...`);
  }
  let pairs: KeyValue[];
  if (!words[0].includes('=')) {
    // Legacy form: the first word is the key and the rest of the line, as written, the value.
    const m = /^(\S+)[\t\v\f\r ]+([\s\S]*)$/.exec(text.trim());
    if (!m) {
      throw new InstructionError(`${keyword} ${words[0]} has no value`, `${keyword} <key>=<value> or ${keyword} <key> <value>`);
    }
    pairs = [{ key: m[1], value: m[2] }];
  } else {
    pairs = words.map((word) => {
      const eq = word.indexOf('=');
      if (eq < 0) {
        throw new InstructionError(`${keyword} argument ${JSON.stringify(word)} has no "="`, `every argument to be <key>=<value>`);
      }
      return { key: word.slice(0, eq), value: word.slice(eq + 1) };
    });
  }
  for (const p of pairs) {
    if (p.key === '') throw new InstructionError(`${keyword} names can not be blank`, `${keyword} <key>=<value>`);
  }
  if (lookup === null) return pairs;
  return pairs.map((p) => ({ key: expandWord(p.key, lookup, escape), value: expandWord(p.value, lookup, escape) }));
}

/** Parses ARG arguments: `NAME`, `NAME=default`, several per line. Expands when given a lookup. */
export function parseArgDefinitions(text: string, lookup: Lookup | null, escape = '\\'): ArgDefinition[] {
  const words = splitQuotedWords(text, escape);
  if (words.length === 0) throw new InstructionError('ARG has no arguments', 'ARG <name>[=<default value>] ...');
  return words.map((word) => {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    if (name === '') throw new InstructionError('ARG names can not be blank', 'ARG <name>[=<default value>]');
    if (lookup === null) return value === undefined ? { name } : { name, value };
    const expandedName = expandWord(name, lookup, escape);
    return value === undefined ? { name: expandedName } : { name: expandedName, value: expandWord(value, lookup, escape) };
  });
}
