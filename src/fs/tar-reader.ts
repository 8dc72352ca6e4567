// Reads a tar stream entry by entry for extraction: ustar, GNU (long names 'L'/'K', base-256
// numbers) and PAX ('x' records for one entry, 'g' for the rest), with the same reading of each
// field as tar-stream, which the other readers of layers use. Written here because a layer is
// mostly small entries and tar-stream spends more per entry (a stream and its events for each)
// than writing the entry costs: a base layer's extraction did a third of its work in it. Entry
// data is handed out as slices of the decompressed chunks, never copied.
import { decodePax, SPARSE_MAP } from './tar-pax';

export type TarEntryType =
  | 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'contiguous-file';

export interface TarHeader {
  name: string;
  /** undefined for a type extraction does not know (a volume label, say): `typeflag` says which; a GNU sparse file is a file, its holes read as zeros */
  type: TarEntryType | undefined;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string | null;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** the entry's PAX records (with the global ones before it), if it had any */
  pax: Record<string, string> | null;
}

/** One entry: its header, and its data as chunks (read them, or not: the reader skips what is left). */
export interface TarEntry extends AsyncIterable<Buffer> {
  header: TarHeader;
}

const BLOCK = 512;
const MAX_LONG_HEADER = 4 * 1024 * 1024; // as tar-stream: a long name or PAX header beyond this is an error
const USTAR = Buffer.from('ustar\0', 'latin1');
const GNU = Buffer.from('ustar ', 'latin1');

const TYPES: Record<number, TarEntryType> = {
  0: 'file', 0x30: 'file', 0x31: 'link', 0x32: 'symlink', 0x33: 'character-device', 0x34: 'block-device',
  0x35: 'directory', 0x36: 'fifo', 0x37: 'contiguous-file',
};
const PAX = 0x78; // 'x'
const PAX_GLOBAL = 0x67; // 'g'
const GNU_LONG_NAME = [0x4c, 0x4e]; // 'L', and the old 'N'
const GNU_LONG_LINK = 0x4b; // 'K'
const GNU_SPARSE = 0x53; // 'S': the old GNU sparse format, its map in the header
const MAX_SPARSE_MAP = 1024 * 1024; // as Go's archive/tar: a sparse map of 1.0 beyond this is an error
const ZEROS_CHUNK = 1024 * 1024;

export class TarFormatError extends Error {}

function str(b: Buffer, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** An octal field (leading spaces and NULs allowed, ended by a space or NUL), or GNU base-256. */
function num(b: Buffer, off: number, len: number): number {
  if (b[off] & 0x80) {
    // base-256 (as Go's archive/tar reads it): the top bit marks it, the rest is a big-endian
    // two's complement number, negative when the next bit is set. A negative one is read with its
    // bits inverted, v, and is then -(v + 1): 0xff…ff is -1.
    const inv = b[off] & 0x40 ? 0xff : 0;
    let v = (b[off] ^ inv) & 0x7f;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + (b[i] ^ inv);
    if (!Number.isSafeInteger(v)) return NaN;
    return inv ? -(v + 1) : v;
  }
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  if (i === end || b[i] === 0x20) return 0;
  // as parseInt(…, 8), which tar-stream uses: the octal digits up to the first other byte
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 7) break;
    v = v * 8 + d;
    digits++;
  }
  return digits === 0 ? NaN : v;
}

function isZeroBlock(b: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function checksumOk(b: Buffer, off: number): boolean {
  let sum = 8 * 0x20; // the checksum field itself counts as spaces
  for (let i = off; i < off + 148; i++) sum += b[i];
  for (let i = off + 156; i < off + BLOCK; i++) sum += b[i];
  return sum === num(b, off + 148, 8);
}

/**
 * PAX records that are names may hold no NUL: a reader that stops at one and a reader that does
 * not would see different names (`path=good\0../../evil`). Go's archive/tar refuses them too.
 */
function refuseNulInNames(pax: Record<string, string>, what: string): Record<string, string> {
  for (const key of ['path', 'linkpath', 'uname', 'gname']) {
    if (pax[key]?.includes('\0')) throw new TarFormatError(`${what}: its PAX ${key} record holds a NUL byte (${JSON.stringify(pax[key])}), which no name may hold`);
  }
  return pax;
}

/**
 * The map of an old GNU sparse header ('S'), `count` entries of offset and size (12 bytes each)
 * from `off`, appended to `out`; an entry with an empty offset ends it (as Go reads it).
 */
function oldGnuSparseEntries(b: Buffer, off: number, count: number, out: number[]): void {
  for (let i = 0; i < count && b[off + i * 24] !== 0; i++) out.push(num(b, off + i * 24, 12), num(b, off + i * 24 + 12, 12));
}

/**
 * Which GNU sparse PAX format an entry's records say (Go's archive/tar's reading of them):
 * '1.0' with its map before the data, '0.x' with it in GNU.sparse.map; undefined for none.
 */
function gnuSparsePaxVersion(pax: Record<string, string>): '0.x' | '1.0' | undefined {
  const major = pax['GNU.sparse.major'];
  const minor = pax['GNU.sparse.minor'];
  if (major === '0' && (minor === '0' || minor === '1')) return '0.x';
  if (major === '1' && minor === '0') return '1.0';
  if (major !== undefined || minor !== undefined) throw new TarFormatError(`GNU sparse format ${major}.${minor} is not known`);
  return pax[SPARSE_MAP] !== undefined ? '0.x' : undefined;
}

/** offset,size pairs of a sparse map ("1,2,3,4" or numbers), checked as Go does */
function checkedSparseMap(name: string, pairs: number[], realSize: number, stored: number): number[] {
  const bad = (why: string) => new TarFormatError(`GNU sparse file "${name}": ${why}`);
  if (pairs.length % 2 !== 0) throw bad('its sparse map has an odd number of fields');
  if (!(realSize >= 0) || !Number.isSafeInteger(realSize)) throw bad('invalid real size');
  let end = 0;
  let sum = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    const [o, n] = [pairs[i], pairs[i + 1]];
    if (!Number.isSafeInteger(o) || !Number.isSafeInteger(n) || o < end || n < 0 || o + n > realSize) throw bad(`its sparse map is invalid at segment ${i / 2} (offset ${o}, size ${n}, file size ${realSize})`);
    end = o + n;
    sum += n;
  }
  if (sum !== stored) throw bad(`its sparse map holds ${sum} bytes of data, the archive ${stored}`);
  return pairs;
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** Whether `block` starts with a tar header (its checksum right), as Go's tar.Reader.Next() would accept. */
export function isTarHeader(block: Buffer): boolean {
  return block.length >= BLOCK && !isZeroBlock(block, 0) && checksumOk(block, 0);
}

/**
 * The entries of the tar stream `source` (uncompressed), in order. An entry's data must be read
 * (or abandoned) before the next entry is asked for; what is not read is skipped. Ends at the
 * end-of-archive marker, leaving what follows it unread in `source`. Throws TarFormatError for a
 * corrupt header and for data that ends inside an entry.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const input = source[Symbol.asyncIterator]();
  // Chunks received and not consumed yet, the first one partly consumed. A header that straddles
  // two chunks is copied into a block of its own; nothing else is copied.
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;

  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await input.next();
    if (r.done) {
      ended = true;
      return false;
    }
    if (r.value.length > 0) {
      queue.push(r.value);
      queued += r.value.length;
    }
    return true;
  };
  /** Drop n bytes of the first chunk (n no more than its length). */
  const consume = (n: number): void => {
    queued -= n;
    if (n === queue[0].length) queue.shift();
    else queue[0] = queue[0].subarray(n);
  };
  /** The next n bytes as one buffer (the first chunk), or null at the end of the input. */
  const fill = async (n: number): Promise<Buffer | null> => {
    if (n === 0) return Buffer.alloc(0);
    while (queued < n) if (!(await more())) return null;
    if (queue[0].length < n) {
      const parts: Buffer[] = [];
      for (let got = 0; got < n;) {
        const take = Math.min(queue[0].length, n - got);
        parts.push(queue[0].subarray(0, take));
        got += take;
        queued -= take; // consume() without touching the part just taken
        if (take === queue[0].length) queue.shift();
        else queue[0] = queue[0].subarray(take);
      }
      queue.unshift(Buffer.concat(parts, n));
      queued += n;
    }
    return queue[0];
  };
  /** Drop n bytes, reading through the input as needed. */
  const skip = async (n: number): Promise<void> => {
    while (n > 0) {
      if (queued === 0 && !(await more())) throw new TarFormatError('unexpected end of data inside a tar entry');
      if (queued === 0) continue;
      const k = Math.min(n, queue[0].length);
      consume(k);
      n -= k;
    }
  };

  let pax: Record<string, string> | null = null;
  let paxGlobal: Record<string, string> | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  // (when the caller stops early, the source is its to destroy: ending a stream's iterator here
  // would destroy it with an AbortError that hides the caller's own)
  for (;;) {
    const buf = await fill(BLOCK);
    if (buf === null) {
      if (queued > 0) throw new TarFormatError('unexpected end of data inside a tar header');
      return;
    }
    if (isZeroBlock(buf, 0)) {
      // Two zero blocks end the archive: what follows (a tar appended to it, padding) is no part
      // of it, as GNU tar and Go's archive/tar read it. Go refuses a zero block followed by a header.
      consume(BLOCK);
      const next = await fill(BLOCK);
      if (next === null) {
        if (queued > 0) throw new TarFormatError('unexpected end of data inside a tar header');
        return;
      }
      if (isZeroBlock(next, 0)) return;
      throw new TarFormatError('a lone zero block before a tar header: an end-of-archive marker is two zero blocks, nothing else may hold zero headers');
    }
    if (!checksumOk(buf, 0)) throw new TarFormatError('invalid tar header (bad checksum): is the data corrupt, or still compressed?');
    const ustar = buf.compare(USTAR, 0, 6, 257, 263) === 0;
    if (!ustar && buf.compare(GNU, 0, 6, 257, 263) !== 0) throw new TarFormatError('invalid tar header: unknown format');
    const flag = buf[156];
    let name = str(buf, 0, 100);
    if (ustar && buf[345] !== 0) name = `${str(buf, 345, 155)}/${name}`;
    const h: TarHeader = {
      name,
      type: TYPES[flag],
      typeflag: flag === 0 ? '0' : String.fromCharCode(flag),
      mode: num(buf, 100, 8),
      uid: num(buf, 108, 8),
      gid: num(buf, 116, 8),
      size: num(buf, 124, 12),
      mtime: new Date(1000 * num(buf, 136, 12)),
      linkname: buf[157] === 0 ? null : str(buf, 157, 100),
      uname: str(buf, 265, 32),
      gname: str(buf, 297, 32),
      devmajor: num(buf, 329, 8),
      devminor: num(buf, 337, 8),
      pax: null,
    };
    let sparse: number[] | undefined;
    let oldSparse: { extended: boolean; realSize: number } | undefined;
    if (flag === GNU_SPARSE) {
      oldGnuSparseEntries(buf, 386, 4, (sparse = []));
      oldSparse = { extended: buf[482] !== 0, realSize: num(buf, 483, 12) };
    }
    consume(BLOCK);
    if (!(h.size >= 0)) throw new TarFormatError(`invalid size in the tar header of "${h.name}"`);

    const long = flag === PAX || flag === PAX_GLOBAL || flag === GNU_LONG_LINK || GNU_LONG_NAME.includes(flag);
    if (long) {
      if (h.size > MAX_LONG_HEADER) throw new TarFormatError(`tar long header of ${h.size} bytes is larger than ${MAX_LONG_HEADER}`);
      const all = await fill(padded(h.size));
      if (all === null) throw new TarFormatError('unexpected end of data inside a tar long header');
      const body = all.subarray(0, h.size);
      if (flag === PAX) pax = paxGlobal === null ? decodePax(body) : { ...paxGlobal, ...decodePax(body) };
      else if (flag === PAX_GLOBAL) paxGlobal = refuseNulInNames(decodePax(body), 'the global PAX header');
      else if (flag === GNU_LONG_LINK) longLink = str(body, 0, body.length);
      else longName = str(body, 0, body.length);
      if (padded(h.size) > 0) consume(padded(h.size));
      continue;
    }
    if (longName !== null) { h.name = longName; longName = null; }
    if (longLink !== null) { h.linkname = longLink; longLink = null; }
    if (pax) {
      refuseNulInNames(pax, `entry "${h.name}"`);
      if (pax.path) h.name = pax.path;
      if (pax.linkpath) h.linkname = pax.linkpath;
      if (pax.size) h.size = parseInt(pax.size, 10);
      h.pax = pax;
      pax = null;
    }
    // GNU sparse files: the data holds the segments of the file that are not holes, in order
    const sparseVersion = h.pax ? gnuSparsePaxVersion(h.pax) : undefined;
    if (oldSparse) {
      for (let ext = oldSparse.extended; ext;) {
        const b = await fill(BLOCK);
        if (b === null) throw new TarFormatError(`unexpected end of data inside the sparse map of "${h.name}"`);
        oldGnuSparseEntries(b, 0, 21, sparse!);
        ext = b[504] !== 0;
        consume(BLOCK);
      }
      h.type = 'file';
    }
    // old tars mark a directory by a trailing '/' on a regular file's name
    if (h.type === 'file' && h.name.endsWith('/')) h.type = 'directory';
    if (!(h.size >= 0)) throw new TarFormatError(`invalid size in the tar header of "${h.name}"`);

    // data follows every entry but a directory, as its size says (tar-stream reads them so too)
    const dataSize = h.type === 'directory' ? 0 : h.size;
    let left = dataSize;
    /** n bytes (no more than are left) of the entry's data, as slices of the input */
    async function* stored(n: number): AsyncGenerator<Buffer> {
      while (n > 0) {
        if (queued === 0 && !(await more())) throw new TarFormatError(`unexpected end of data inside "${h.name}"`);
        if (queued === 0) continue;
        const k = Math.min(n, queue[0].length);
        const chunk = queue[0].subarray(0, k);
        consume(k);
        left -= k;
        n -= k;
        yield chunk;
      }
    }
    let realSize = h.size;
    if (sparseVersion === '1.0') {
      // the map comes first in the data, as decimal numbers each ended by a newline (the count
      // of segments, then an offset and a size for each), padded to a block
      let text = '';
      const nums: number[] = [];
      while (nums.length === 0 || nums.length < 1 + 2 * nums[0]) {
        if (dataSize - left >= MAX_SPARSE_MAP || left < BLOCK) throw new TarFormatError(`GNU sparse file "${h.name}": its sparse map is cut short or too large`);
        const b = await fill(BLOCK);
        if (b === null) throw new TarFormatError(`unexpected end of data inside the sparse map of "${h.name}"`);
        text += b.toString('latin1', 0, BLOCK);
        consume(BLOCK);
        left -= BLOCK;
        let nl: number;
        while ((nl = text.indexOf('\n')) !== -1 && (nums.length === 0 || nums.length < 1 + 2 * nums[0])) {
          const field = text.slice(0, nl);
          if (!/^[0-9]+$/.test(field)) throw new TarFormatError(`GNU sparse file "${h.name}": its sparse map holds ${JSON.stringify(field.slice(0, 30))}, expected a number`);
          nums.push(Number(field));
          text = text.slice(nl + 1);
        }
      }
      sparse = nums.slice(1);
    } else if (sparseVersion === '0.x') {
      sparse = h.pax![SPARSE_MAP] === '' ? [] : h.pax![SPARSE_MAP].split(',').map((f) => (/^[0-9]+$/.test(f) ? Number(f) : NaN));
    }
    if (sparse) {
      const size = oldSparse ? String(oldSparse.realSize) : h.pax!['GNU.sparse.size'] ?? h.pax!['GNU.sparse.realsize'];
      if (sparseVersion && h.pax!['GNU.sparse.name']) h.name = h.pax!['GNU.sparse.name'];
      realSize = size === undefined ? h.size : Number(size);
      checkedSparseMap(h.name, sparse, realSize, left);
      h.size = realSize;
    }
    const segments = sparse;
    const entry: TarEntry = {
      header: h,
      [Symbol.asyncIterator]: segments === undefined ? () => stored(left) : async function* () {
        // the holes between the segments come out as zeros
        let at = 0;
        for (let i = 0; i <= segments.length; i += 2) {
          const next = i < segments.length ? segments[i] : realSize;
          for (; at < next; at += Math.min(ZEROS_CHUNK, next - at)) yield Buffer.alloc(Math.min(ZEROS_CHUNK, next - at));
          if (i === segments.length) break;
          yield* stored(segments[i + 1]);
          at += segments[i + 1];
        }
      },
    };
    yield entry;
    await skip(left + (padded(dataSize) - dataSize));
  }
}
