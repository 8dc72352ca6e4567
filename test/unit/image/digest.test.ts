import { strict as assert } from 'node:assert';
import { Readable, PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import {
  DigestingStream, DigestMismatchError, SizeMismatchError, isDigest, parseDigest, sha256Digest, sha256Hex, verifyingStream,
} from '../../../src/image/digest';

const hello = Buffer.from('hello');
const helloDigest = 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

async function drain(src: Readable, t: NodeJS.ReadWriteStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c) => chunks.push(c));
  await pipeline(src, t, sink);
  return Buffer.concat(chunks);
}

describe('image/digest', () => {
  it('parses sha256 and sha512 digests', () => {
    assert.deepEqual(parseDigest(helloDigest), { algorithm: 'sha256', hex: helloDigest.slice(7) });
    const d512 = 'sha512:' + createHash('sha512').update(hello).digest('hex');
    assert.equal(parseDigest(d512).algorithm, 'sha512');
  });

  it('rejects malformed digests naming the object', () => {
    assert.throws(() => parseDigest('sha256:abc', 'config digest'), /invalid config digest "sha256:abc": expected 64 lowercase hex/);
    assert.throws(() => parseDigest('md5:' + 'a'.repeat(32)), /unsupported algorithm "md5"/);
    assert.throws(() => parseDigest('a'.repeat(64)), /expected algorithm:hex/);
    assert.throws(() => parseDigest('sha256:' + 'A'.repeat(64)), /lowercase hex/);
    assert.equal(isDigest(helloDigest), true);
    assert.equal(isDigest(42), false);
  });

  it('hashes buffers', () => {
    assert.equal(sha256Hex(hello), helloDigest.slice(7));
    assert.equal(sha256Digest('hello'), helloDigest);
  });

  it('DigestingStream passes data through and reports digest and size', async () => {
    const d = new DigestingStream();
    const out = await drain(Readable.from([Buffer.from('hel'), Buffer.from('lo')]), d);
    assert.deepEqual(out, hello);
    assert.equal(d.digest(), helloDigest);
    assert.equal(d.size, 5);
  });

  it('verifyingStream accepts matching content', async () => {
    const out = await drain(Readable.from([hello]), verifyingStream(helloDigest, 5));
    assert.deepEqual(out, hello);
  });

  it('verifyingStream fails at end on a digest mismatch, naming both digests', async () => {
    await assert.rejects(drain(Readable.from([Buffer.from('jello')]), verifyingStream(helloDigest, 5, 'layer x')), (e: unknown) => {
      assert.ok(e instanceof DigestMismatchError);
      assert.match(e.message, /digest mismatch for layer x: expected sha256:2cf2.*, got sha256:/);
      return true;
    });
  });

  it('verifyingStream fails on too many or too few bytes', async () => {
    await assert.rejects(drain(Readable.from([hello, hello]), verifyingStream(helloDigest, 5)), SizeMismatchError);
    await assert.rejects(drain(Readable.from([Buffer.from('hell')]), verifyingStream(helloDigest, 5)), /expected 5 bytes, got 4/);
  });
});
