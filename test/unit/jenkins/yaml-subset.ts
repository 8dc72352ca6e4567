// A strict reader for the block-style YAML subset our JCasC examples use (no yaml package is
// installed): nested mappings, sequences of scalars or mappings, comments, plain / quoted
// scalars. Anything outside it (tabs, flow collections, anchors, multi-line scalars, duplicate
// keys, bad indentation) fails with the line number, so it doubles as a well-formedness check.

type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

interface Line { no: number; indent: number; text: string }

export function parseYamlSubset(source: string, file = 'yaml'): Value {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    if (/^\s*(#.*)?$/.test(raw)) return;
    if (/^\t| \t/.test(raw.match(/^\s*/)![0] + ' ')) throw new Error(`${file}:${i + 1}: tab in indentation`);
    const text = stripComment(raw.trimStart(), file, i + 1).trimEnd();
    lines.push({ no: i + 1, indent: raw.length - raw.trimStart().length, text });
  });
  let pos = 0;

  function block(indent: number): Value {
    const first = lines[pos];
    if (first.text.startsWith('- ') || first.text === '-') return sequence(indent);
    return mapping(indent);
  }

  function mapping(indent: number, firstInline?: string, firstNo?: number): { [k: string]: Value } {
    const out: { [k: string]: Value } = {};
    let pending: { text: string; no: number } | undefined = firstInline !== undefined ? { text: firstInline, no: firstNo! } : undefined;
    for (;;) {
      let text: string;
      let no: number;
      if (pending) {
        ({ text, no } = pending);
        pending = undefined;
      } else {
        const l = lines[pos];
        if (!l || l.indent < indent) return out;
        if (l.indent > indent) throw new Error(`${file}:${l.no}: unexpected indentation`);
        if (l.text.startsWith('- ')) return out;
        text = l.text;
        no = l.no;
        pos++;
      }
      const m = /^("[^"]*"|[^\s:"'][^:]*?):(?:\s+(.*))?$/.exec(text);
      if (!m) throw new Error(`${file}:${no}: expected "key: value", got ${JSON.stringify(text)}`);
      const key = unquote(m[1], file, no) as string;
      if (key in out) throw new Error(`${file}:${no}: duplicate key ${key}`);
      if (m[2] !== undefined && m[2] !== '') {
        out[key] = scalar(m[2], file, no);
      } else {
        const next = lines[pos];
        if (next && next.indent > indent) out[key] = block(next.indent);
        else if (next && next.indent === indent && next.text.startsWith('- ')) out[key] = sequence(indent);
        else out[key] = null;
      }
    }
  }

  function sequence(indent: number): Value[] {
    const out: Value[] = [];
    for (;;) {
      const l = lines[pos];
      if (!l || l.indent < indent || !(l.text.startsWith('- ') || l.text === '-')) return out;
      if (l.indent > indent) throw new Error(`${file}:${l.no}: unexpected indentation`);
      pos++;
      const rest = l.text.slice(2).trimStart();
      const itemIndent = l.indent + (l.text.length - rest.length);
      if (rest === '') {
        out.push(block(lines[pos].indent));
      } else if (/^("[^"]*"|[^\s:"'][^:]*?):(\s|$)/.test(rest)) {
        out.push(mapping(itemIndent, rest, l.no));
      } else {
        out.push(scalar(rest, file, l.no));
      }
    }
  }

  const doc = block(0);
  if (pos < lines.length) throw new Error(`${file}:${lines[pos].no}: unexpected content at indentation ${lines[pos].indent}`);
  return doc;
}

function stripComment(text: string, file: string, no: number): string {
  let inQuote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuote) {
      if (c === inQuote) inQuote = undefined;
    } else if (c === '"' || c === "'") {
      inQuote = c;
    } else if (c === '#' && (i === 0 || text[i - 1] === ' ')) {
      return text.slice(0, i);
    }
  }
  if (inQuote) throw new Error(`${file}:${no}: unterminated quote`);
  return text;
}

function unquote(s: string, file: string, no: number): string {
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new Error(`${file}:${no}: bad quoted string ${s}`);
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`${file}:${no}: bad quoted string ${s}`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  return s;
}

function scalar(s: string, file: string, no: number): Value {
  if (/^[[{&*|>!%@`]/.test(s)) throw new Error(`${file}:${no}: "${s}" is outside the supported YAML subset`);
  if (s.startsWith('"') || s.startsWith("'")) return unquote(s, file, no);
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/:\s/.test(s)) throw new Error(`${file}:${no}: plain scalar "${s}" contains ": " (quote it)`);
  return s;
}
