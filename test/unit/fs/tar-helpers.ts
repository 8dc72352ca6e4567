// Reading back tarballs in tests with an independent parser (tar-stream) so that what our writer
// produced is checked by someone else's reader; GNU tar is used beside it in the tests themselves.
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import * as path from 'node:path';
import * as tar from 'tar-stream';
import { decodePax } from '../../../src/fs/tar-pax';

// tar-stream decodes PAX values as UTF-8, which loses a binary extended attribute: its extract
// is made to use our decoding (SCHILY.xattr.* as latin1), reached through its headers module.
const headers = require(path.join(path.dirname(require.resolve('tar-stream')), 'headers.js')) as { decodePax(buf: Buffer): Record<string, string> };
headers.decodePax = decodePax;

export interface ReadEntry {
  header: tar.Header;
  pax: Record<string, string>;
  data: Buffer;
}

export async function readTar(file: string): Promise<ReadEntry[]> {
  const raw = fs.readFileSync(file);
  return readTarBytes(raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw);
}

/** The entries of an uncompressed tarball in memory, read by tar-stream. */
export async function readTarBytes(body: Buffer): Promise<ReadEntry[]> {
  const ex = tar.extract();
  const out: ReadEntry[] = [];
  Readable.from([body]).pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ header: entry.header, pax: (entry.header.pax ?? {}) as Record<string, string>, data: Buffer.concat(chunks) });
  }
  return out;
}

/** A tarball built entry by entry with tar-stream (for extraction tests with hostile entries). */
export async function makeTar(entries: Array<{ header: Partial<tar.Header> & { name: string }; data?: Buffer | string }>, gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of pack) chunks.push(c as Buffer); })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ mtime: new Date(1000000000000), ...e.header }, e.data ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  const body = Buffer.concat(chunks);
  return gzip ? zlib.gzipSync(body) : body;
}
