// Digests computed on the data as it streams by, so a layer is hashed in the same pass that writes
// it and never has to be read back.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** An OCI digest string, e.g. "sha256:0123…". */
export type Digest = string;

/**
 * A pass-through stream that counts and sha256-hashes every byte that flows through it.
 * `digest` and `bytes` are final once the stream has ended ('finish'/'end').
 */
export class HashStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private result: Digest | undefined;
  /** Bytes seen so far. */
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = 'sha256:' + this.hash.digest('hex');
    cb();
  }

  /** "sha256:<hex>" of everything that passed; throws if read before the stream ended. */
  get digest(): Digest {
    if (this.result === undefined) throw new Error('HashStream digest read before the stream ended');
    return this.result;
  }
}

/** Files up to this size are hashed with one synchronous read (see digestFile). */
const SMALL_FILE = 256 * 1024;

/**
 * sha256 digest and size of a file. A small file is read at once, synchronously: a stream costs
 * a few trips through the thread pool per file (~0.5 ms), which was most of the cache key of a
 * COPY of many small files (200 files: 118 ms). A larger one is read as a stream.
 */
export async function digestFile(file: string): Promise<{ digest: Digest; size: number }> {
  const small = digestSmallFileSync(file);
  if (small) return small;
  return digestFileStream(file);
}

function digestSmallFileSync(file: string): { digest: Digest; size: number } | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > SMALL_FILE) return undefined;
    const buf = Buffer.allocUnsafe(size + 1); // one byte more: a file that grew meanwhile shows
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
      if (n === buf.length) return undefined; // grew past what was stat'ed: stream it instead
    }
    return { digest: 'sha256:' + createHash('sha256').update(buf.subarray(0, n)).digest('hex'), size: n };
  } finally {
    closeSync(fd);
  }
}

async function digestFileStream(file: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
    }
  });
  return { digest: 'sha256:' + hash.digest('hex'), size };
}
