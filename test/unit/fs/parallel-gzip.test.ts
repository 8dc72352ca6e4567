import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { ParallelGzip } from '../../../src/fs/parallel-gzip';
import { run, tmpDir } from '../../support/testbed';

async function gzipWith(input: Buffer, opts: { blockSize: number; parallel: number; chunk?: number }): Promise<Buffer> {
  const chunk = opts.chunk ?? 1000;
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(input.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(parts), new ParallelGzip({ level: 3, ...opts }), new Writable({ write(c: Buffer, _e, cb) { out.push(c); cb(); } }));
  return Buffer.concat(out);
}

describe('fs/parallel-gzip', () => {
  // text-like data (compressible) followed by random bytes, so blocks differ
  const data = Buffer.concat([Buffer.from('drydock layer bytes '.repeat(3000)), randomBytes(50_000)]);

  it('round-trips any length through Node, GNU gzip and the member count it should have', async () => {
    const dir = tmpDir('drydock-pgz-');
    for (const len of [0, 1, 4095, 4096, 4097, data.length]) {
      const input = data.subarray(0, len);
      const gz = await gzipWith(input, { blockSize: 4096, parallel: 3 });
      assert.ok(zlib.gunzipSync(gz).equals(input), `node, ${len} bytes`);
      const f = path.join(dir, `x${len}.gz`);
      fs.writeFileSync(f, gz);
      const viaGnu = run('sh', ['-c', `gzip -dc < '${f}' | sha256sum`]).split(' ')[0];
      assert.equal(viaGnu, createHash('sha256').update(input).digest('hex'), `gzip -dc, ${len} bytes`);
      const members = gz.length === 0 ? 0 : [...gz.keys()].filter((i) => gz[i] === 0x1f && gz[i + 1] === 0x8b && gz[i + 2] === 8).length;
      assert.ok(members >= Math.max(1, Math.ceil(len / 4096)), `${len} bytes: ${members} members`);
    }
  });

  it('gives the same bytes whatever runs at once and however the input is chunked', async () => {
    const a = await gzipWith(data, { blockSize: 8192, parallel: 1, chunk: 100 });
    const b = await gzipWith(data, { blockSize: 8192, parallel: 4, chunk: 70_000 });
    assert.ok(a.equals(b));
    // one block is exactly zlib's own gzip of it
    const small = data.subarray(0, 5000);
    assert.ok((await gzipWith(small, { blockSize: 8192, parallel: 2 })).equals(zlib.gzipSync(small, { level: 3 })));
  });

  it('counts input as taken once copied, and holds back the writer when the reader stalls', async () => {
    const gz = new ParallelGzip({ level: 1, blockSize: 64 * 1024, parallel: 2 });
    const big = randomBytes(64 * 1024);
    let accepted = 0;
    // nobody reads: writes must stop being acknowledged after a bounded amount
    for (let i = 0; i < 400; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 200);
        gz.write(big, () => { clearTimeout(t); resolve(true); });
      });
      if (!ok) break;
      accepted++;
    }
    assert.ok(accepted < 400, 'the writer was never held back');
    assert.ok(gz.bytesWritten >= accepted * big.length);
    assert.ok(gz.readableLength <= 8 * 1024 * 1024, `buffered ${gz.readableLength} bytes`);
    gz.destroy();
  });

  it('an error upstream ends the stream with it', async () => {
    const failing = new Readable({ read() { this.destroy(new Error('source broke')); } });
    await assert.rejects(pipeline(failing, new ParallelGzip({ level: 3 }), new Writable({ write(_c, _e, cb) { cb(); } })), /source broke/);
  });
});
