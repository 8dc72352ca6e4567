// Heredoc markers (<<EOF, <<-EOF, <<"EOF", 2<<EOF) in RUN/COPY/ADD lines, found the way BuildKit
// finds them: the line is lexed into words (quotes and escapes kept, nothing expanded) and each
// word that starts with [fd]<< names a heredoc.
import { ExpansionError, lexWord } from './expand';

export interface HeredocMarker {
  name: string;
  expand: boolean;
  chomp: boolean;
  fd?: number;
}

const markerPattern = /^(\d*)<<(-?)([^<]*)$/;
const noVariables = () => undefined;

/** Parses one word as a heredoc marker; undefined when it is not one. */
export function parseHeredocMarker(word: string): HeredocMarker | undefined {
  const m = markerPattern.exec(word);
  if (!m || m[3] === '') return undefined;
  const rest = m[3];
  // Lexing the name with and without quotes tells whether any part of it was quoted; a quoted
  // delimiter means the body is taken literally.
  const plain = lexWord(rest, { escape: '\\', lookup: noVariables, skipUnset: true }).words;
  if (plain.length !== 1) return undefined;
  const raw = lexWord(rest, { escape: '\\', lookup: noVariables, skipUnset: true, rawQuotes: true }).words;
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  const marker: HeredocMarker = { name: plain[0], expand: quotes(plain[0]) === quotes(raw[0]), chomp: m[2] === '-' };
  if (m[1] !== '') marker.fd = parseInt(m[1], 10);
  return marker;
}

/** All heredoc markers of a logical line, in order. */
export function findHeredocMarkers(line: string): HeredocMarker[] {
  let words: string[];
  try {
    words = lexWord(line, { escape: '\\', lookup: noVariables, rawQuotes: true, rawEscapes: true, skipUnset: true }).words;
  } catch (err) {
    // BuildKit ignores lexing errors here: a line it cannot lex has no heredocs.
    if (err instanceof ExpansionError) return [];
    throw err;
  }
  const markers: HeredocMarker[] = [];
  for (const word of words) {
    const marker = parseHeredocMarker(word);
    if (marker) markers.push(marker);
  }
  return markers;
}

/** Removes leading tabs from every line (<<- heredocs). */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
