// Content digests ("sha256:<hex>") and streams that compute or verify them while data passes,
// so blobs are checked without ever being held in memory.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { UserError } from '../log';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/**
 * What is wrong with a digest string, or undefined when it is one we can verify: sha256 or sha512
 * with exactly 64 or 128 lowercase hex digits (go-digest's rule; "sha256:ABC…" is no digest there).
 */
export function digestProblem(s: string): string | undefined {
  const colon = s.indexOf(':');
  if (colon < 0) return 'expected algorithm:hex, e.g. sha256:<64 hex digits>';
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return `unsupported algorithm "${algorithm}" (expected sha256 or sha512)`;
  const n = HEX_LENGTH[algorithm];
  if (hex.length !== n || !/^[0-9a-f]+$/.test(hex)) return `expected ${n} lowercase hex digits after "${algorithm}:"`;
  return undefined;
}

/** Parse "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>"; `what` names the object in errors. */
export function parseDigest(s: string, what = 'digest'): ParsedDigest {
  if (typeof s !== 'string') throw new UserError(`invalid ${what}: expected a string like sha256:<64 hex digits>, got ${typeof s}`);
  const problem = digestProblem(s);
  if (problem) throw new UserError(`invalid ${what} "${s}": ${problem}`);
  const colon = s.indexOf(':');
  return { algorithm: s.slice(0, colon) as DigestAlgorithm, hex: s.slice(colon + 1) };
}

export function isDigest(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** "sha256:<hex>" of a buffer (manifests and configs are small; blobs go through streams). */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${sha256Hex(data)}`;
}

export class DigestMismatchError extends UserError {
  constructor(readonly what: string, readonly expected: string, readonly actual: string, readonly expectedSize?: number, readonly actualSize?: number) {
    const sizes = expectedSize !== undefined && actualSize !== undefined && expectedSize !== actualSize
      ? ` (expected ${expectedSize} bytes, got ${actualSize})` : '';
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}${sizes}`);
    this.name = 'DigestMismatchError';
  }
}

export class SizeMismatchError extends UserError {
  constructor(readonly what: string, readonly expectedSize: number, readonly actualSize: number, more: boolean) {
    super(`size mismatch for ${what}: expected ${expectedSize} bytes, got ${more ? 'more than ' : ''}${actualSize}`);
    this.name = 'SizeMismatchError';
  }
}

/** Passes data through unchanged while computing its digest and byte count. */
export class DigestingStream extends Transform {
  private readonly hash: Hash;
  readonly algorithm: DigestAlgorithm;
  /** Bytes seen so far. */
  size = 0;
  private result?: string;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    super();
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `${this.algorithm}:${this.hash.digest('hex')}`;
    cb();
  }

  /** The digest of everything that passed; only available once the stream has flushed. */
  digest(): string {
    if (!this.result) throw new Error('DigestingStream.digest() called before the stream ended');
    return this.result;
  }
}

/**
 * A pass-through that fails at end of stream (DigestMismatchError) when the data does not hash to
 * `expected`, and as soon as it exceeds `expectedSize` (SizeMismatchError). `what` names the blob.
 */
export function verifyingStream(expected: string, expectedSize?: number, what = expected): Transform {
  const { algorithm } = parseDigest(expected, `expected digest of ${what}`);
  const hash = createHash(algorithm);
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (expectedSize !== undefined && size > expectedSize) {
        cb(new SizeMismatchError(what, expectedSize, size, true));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (expectedSize !== undefined && size !== expectedSize) cb(new SizeMismatchError(what, expectedSize, size, false));
      else if (actual !== expected) cb(new DigestMismatchError(what, expected, actual, expectedSize, size));
      else cb();
    },
  });
}
