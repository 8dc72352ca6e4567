// A ustar/PAX header encoder. Written here rather than taken from tar-stream because a layer
// writer needs exact control of every byte for reproducible digests: tar-stream's pack drops
// sub-second mtimes, large uid/gid and xattrs, and stamps its own PAX header fields.
// Layout follows POSIX.1-2001 (pax) as Go's archive/tar writes it: USTAR when every field fits,
// otherwise a PAX extended header ('x') before the entry carrying the fields that do not.

export type TypeFlag = '0' | '1' | '2' | '3' | '4' | '5' | '6';

export interface TarHeader {
  name: string;
  typeflag: TypeFlag;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Milliseconds since the epoch. */
  mtimeMs: number;
  /** Keep milliseconds (as a PAX mtime record); otherwise mtime is truncated to whole seconds. */
  preciseMtime?: boolean;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  /** [name, value] pairs, already sorted. */
  xattrs?: Array<[string, Buffer]>;
}

const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777; // 8-byte field: 7 digits + NUL
const MAX_OCTAL_11 = 0o77777777777; // 12-byte field: 11 digits + NUL
const MAX_PAX_SIZE = 1 << 20; // Go's limit for a special file; beyond it readers refuse the entry

// Printable ASCII without NUL fits a ustar string field as is; anything else travels in PAX so that
// readers agree on the encoding (UTF-8 per POSIX pax).
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c >= 0x80) return false;
  }
  return true;
}

function toAscii(s: string, max: number): string {
  let out = '';
  for (let i = 0; i < s.length && out.length < max; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0 && c < 0x80) out += s[i];
  }
  return out;
}

// Digit by digit from the right: a header has seven of these, and string formatting made them
// most of the time of writing a 20,000-file layer's headers.
function writeOctal(buf: Buffer, value: number, offset: number, width: number): void {
  let v = value;
  for (let i = offset + width - 2; i >= offset; i--) {
    buf[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  buf[offset + width - 1] = 0;
}

/** Split a long ASCII name into ustar prefix (≤155) and name (≤100) at a '/'; undefined if impossible. */
function splitUstarName(name: string): [string, string] | undefined {
  if (name.length <= 100) return ['', name];
  for (let i = Math.min(name.length - 1, 155); i > 0; i--) {
    if (name[i] !== '/') continue;
    const rest = name.length - i - 1;
    if (rest > 100) return undefined; // moving left only makes the suffix longer
    if (rest > 0) return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const body = Buffer.byteLength(key, 'utf8') + v.length + 3; // ' ' '=' '\n'
  // The length prefix counts its own digits.
  let len = body + String(body).length;
  if (String(len).length !== String(len - String(body).length).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), v, Buffer.from('\n')]);
}

function formatPaxTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const frac = ms - sec * 1000;
  return frac === 0 ? String(sec) : `${sec}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

function ustarBlock(f: {
  name: string; prefix: string; mode: number; uid: number; gid: number; size: number; mtime: number;
  typeflag: string; linkname: string; uname: string; gname: string; devmajor: number; devminor: number;
}): Buffer {
  const buf = Buffer.alloc(BLOCK);
  // (empty strings are skipped: the block is zero-filled already)
  if (f.name) buf.write(f.name, 0, 100, 'utf8');
  writeOctal(buf, f.mode, 100, 8);
  writeOctal(buf, f.uid, 108, 8);
  writeOctal(buf, f.gid, 116, 8);
  writeOctal(buf, f.size, 124, 12);
  writeOctal(buf, f.mtime, 136, 12);
  buf.write(f.typeflag, 156, 1, 'ascii');
  if (f.linkname) buf.write(f.linkname, 157, 100, 'utf8');
  buf.write('ustar\x0000', 257, 8, 'ascii');
  if (f.uname) buf.write(f.uname, 265, 32, 'utf8');
  if (f.gname) buf.write(f.gname, 297, 32, 'utf8');
  writeOctal(buf, f.devmajor, 329, 8);
  writeOctal(buf, f.devminor, 337, 8);
  if (f.prefix) buf.write(f.prefix, 345, 155, 'utf8');
  // Checksum is computed with its own field read as spaces.
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[i];
  writeOctal(buf, sum, 148, 7);
  buf[155] = 0x20;
  return buf;
}

/** Bytes of zero padding needed after `size` bytes of content to reach a block boundary. */
export function paddingFor(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/**
 * Encode one entry's header: a single 512-byte ustar block, or a PAX header + its records +
 * the ustar block when some field does not fit ustar.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: Buffer[] = [];
  const linkname = h.linkname ?? '';
  const uname = h.uname ?? '';
  const gname = h.gname ?? '';

  let name = h.name;
  let prefix = '';
  const split = isPlainAscii(name) ? splitUstarName(name) : undefined;
  if (split) [prefix, name] = split;
  else {
    pax.push(paxRecord('path', h.name));
    name = toAscii(h.name, 100);
  }

  let ustarLink = linkname;
  if (!isPlainAscii(linkname) || linkname.length > 100) {
    pax.push(paxRecord('linkpath', linkname));
    ustarLink = toAscii(linkname, 100);
  }

  let size = h.size;
  if (size > MAX_OCTAL_11) { pax.push(paxRecord('size', String(size))); size = 0; }
  let uid = h.uid;
  if (uid > MAX_OCTAL_7) { pax.push(paxRecord('uid', String(uid))); uid = 0; }
  let gid = h.gid;
  if (gid > MAX_OCTAL_7) { pax.push(paxRecord('gid', String(gid))); gid = 0; }

  let ustarUname = uname;
  if (!isPlainAscii(uname) || uname.length > 32) { pax.push(paxRecord('uname', uname)); ustarUname = toAscii(uname, 32); }
  let ustarGname = gname;
  if (!isPlainAscii(gname) || gname.length > 32) { pax.push(paxRecord('gname', gname)); ustarGname = toAscii(gname, 32); }

  const ms = h.preciseMtime ? h.mtimeMs : Math.floor(h.mtimeMs / 1000) * 1000;
  let mtime = Math.floor(ms / 1000);
  if (ms !== mtime * 1000 || mtime < 0 || mtime > MAX_OCTAL_11) {
    pax.push(paxRecord('mtime', formatPaxTime(ms)));
    if (mtime < 0 || mtime > MAX_OCTAL_11) mtime = 0;
  }

  for (const [key, value] of h.xattrs ?? []) pax.push(paxRecord('SCHILY.xattr.' + key, value));

  const devmajor = h.devmajor ?? 0;
  const devminor = h.devminor ?? 0;
  if (devmajor > MAX_OCTAL_7 || devminor > MAX_OCTAL_7) {
    throw new Error(`tar entry "${h.name}": device number ${devmajor}:${devminor} does not fit a tar header`);
  }

  const main = ustarBlock({
    name, prefix, mode: h.mode & 0o7777, uid, gid, size, mtime, typeflag: h.typeflag,
    linkname: ustarLink, uname: ustarUname, gname: ustarGname, devmajor, devminor,
  });
  if (pax.length === 0) return main;

  const records = Buffer.concat(pax);
  if (records.length > MAX_PAX_SIZE) throw new Error(`tar entry "${h.name}": extended header of ${records.length} bytes is too large (xattrs?)`);
  // Named like Go's archive/tar does, so our archives look like Docker's to whoever inspects them.
  const slash = h.name.replace(/\/$/, '').lastIndexOf('/');
  const paxName = toAscii(
    slash < 0 ? 'PaxHeaders.0/' + h.name.replace(/\/$/, '') : h.name.slice(0, slash + 1) + 'PaxHeaders.0/' + h.name.slice(slash + 1).replace(/\/$/, ''),
    100,
  ).replace(/\/+$/, '');
  const paxBlock = ustarBlock({
    name: paxName, prefix: '', mode: 0, uid: 0, gid: 0, size: records.length, mtime: 0, typeflag: 'x',
    linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0,
  });
  return Buffer.concat([paxBlock, records, Buffer.alloc(paddingFor(records.length)), main]);
}
