// PAX records of a tar entry. An extended attribute's value is bytes (a file capability is binary
// and seldom valid UTF-8): SCHILY.xattr.* values are decoded as latin1, one character per byte, so
// Buffer.from(value, 'latin1') gives the bytes back; every other record is UTF-8 text.
import { keptXattr } from './xattrs';

const XATTR_KEY = 'SCHILY.xattr.';

const SPARSE_OFFSET = 'GNU.sparse.offset';
const SPARSE_NUMBYTES = 'GNU.sparse.numbytes';
export const SPARSE_MAP = 'GNU.sparse.map';

/**
 * GNU sparse format 0.0 repeats GNU.sparse.offset and GNU.sparse.numbytes, a pair per data
 * segment, where a map of records keeps only the last: they are gathered into a 0.1-style
 * GNU.sparse.map ("offset,size,…") as Go's archive/tar does, in their order.
 */
function addSparse00(result: Record<string, string>, key: string): void {
  const map = result[SPARSE_MAP];
  const count = map === undefined || map === '' ? 0 : map.split(',').length;
  if ((key === SPARSE_OFFSET) !== (count % 2 === 0)) throw new Error(`PAX records ${SPARSE_OFFSET} and ${SPARSE_NUMBYTES} (GNU sparse 0.0) do not alternate`);
  result[SPARSE_MAP] = count === 0 ? result[key] : `${map},${result[key]}`;
}

export function decodePax(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  while (buf.length) {
    let i = 0;
    while (i < buf.length && buf[i] !== 0x20) i++;
    const len = parseInt(buf.subarray(0, i).toString('latin1'), 10);
    if (!len) return result;
    const record = buf.subarray(i + 1, len - 1); // "key=value" without the length and the newline
    const eq = record.indexOf(0x3d);
    if (eq === -1) return result;
    const key = record.subarray(0, eq).toString('utf8');
    result[key] = record.subarray(eq + 1).toString(key.startsWith(XATTR_KEY) ? 'latin1' : 'utf8');
    if (key === SPARSE_OFFSET || key === SPARSE_NUMBYTES) addSparse00(result, key);
    buf = buf.subarray(len);
  }
  return result;
}

/** The extended attributes (those we keep) of an entry's PAX records, as bytes; undefined when none. */
export function xattrsOfPax(pax: Record<string, string> | null | undefined): Record<string, Buffer> | undefined {
  if (!pax) return undefined;
  let out: Record<string, Buffer> | undefined;
  for (const k in pax) {
    if (!k.startsWith(XATTR_KEY)) continue;
    const name = k.slice(XATTR_KEY.length);
    if (keptXattr(name)) (out ??= {})[name] = Buffer.from(pax[k], 'latin1');
  }
  return out;
}
