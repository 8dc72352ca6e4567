// Digests computed on the data as it streams by, so a layer is hashed in the same pass that writes
// it and never has to be read back.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
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

/** sha256 digest and size of a file, read as a stream. */
export async function digestFile(file: string): Promise<{ digest: Digest; size: number }> {
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
