// Read META-INF/MANIFEST.MF out of a jar without unpacking it: find the zip's central directory
// from its end record, look up the one entry, inflate just that. Also serves as the check that a
// downloaded agent.jar is a complete zip (a truncated download has no end record).
import * as fs from 'node:fs/promises';
import * as zlib from 'node:zlib';

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;
const MANIFEST = 'META-INF/MANIFEST.MF';

export class NotAJarError extends Error {}

async function readAt(fh: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** The main attributes of a jar's manifest. Throws NotAJarError when the file is not a valid jar. */
export async function readJarManifest(file: string): Promise<Record<string, string>> {
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = await readAt(fh, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) { eocd = i; break; }
    }
    if (eocd < 0) throw new NotAJarError(`${file}: not a zip file (no end-of-central-directory record; truncated?)`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (cdOffset === 0xffffffff || cdSize === 0xffffffff) throw new NotAJarError(`${file}: zip64 archives are not supported`);
    if (cdOffset + cdSize > size) throw new NotAJarError(`${file}: central directory lies outside the file (truncated?)`);
    const cd = await readAt(fh, cdOffset, cdSize);
    let p = 0;
    for (let n = 0; n < entries; n++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CEN_SIG) throw new NotAJarError(`${file}: corrupt central directory entry ${n}`);
      const method = cd.readUInt16LE(p + 10);
      const compressed = cd.readUInt32LE(p + 20);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const local = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      p += 46 + nameLen + extraLen + commentLen;
      if (name !== MANIFEST) continue;
      const lh = await readAt(fh, local, 30);
      if (lh.length < 30 || lh.readUInt32LE(0) !== LOC_SIG) throw new NotAJarError(`${file}: corrupt local header for ${MANIFEST}`);
      const dataAt = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
      const data = await readAt(fh, dataAt, compressed);
      if (data.length !== compressed) throw new NotAJarError(`${file}: ${MANIFEST} is cut short (truncated?)`);
      let text: string;
      if (method === 0) text = data.toString('utf8');
      else if (method === 8) text = zlib.inflateRawSync(data).toString('utf8');
      else throw new NotAJarError(`${file}: ${MANIFEST} uses unsupported compression method ${method}`);
      return parseManifest(text);
    }
    throw new NotAJarError(`${file}: no ${MANIFEST} (not a jar?)`);
  } finally {
    await fh.close();
  }
}

/** Main section of a manifest: `Name: value` lines, continuation lines start with one space. */
export function parseManifest(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') break; // end of the main section
    if (line.startsWith(' ') && last) {
      out[last] += line.slice(1);
      continue;
    }
    const colon = line.indexOf(': ');
    if (colon > 0) {
      last = line.slice(0, colon);
      out[last] = line.slice(colon + 2);
    }
  }
  return out;
}

/** remoting's jar states its version in `Version` (older builds: `Implementation-Version`). */
export async function readRemotingVersion(file: string): Promise<string | undefined> {
  const m = await readJarManifest(file);
  return m['Version'] ?? m['Implementation-Version'];
}
