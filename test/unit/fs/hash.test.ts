import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestFile, HashStream } from '../../../src/fs/hash';
import { run, tmpDir } from '../../support/testbed';

describe('fs/hash', () => {
  it('HashStream passes data through and reports sha256 and byte count', async () => {
    const chunks = [Buffer.from('hello '), Buffer.from('world'), Buffer.alloc(100000, 7)];
    const h = new HashStream();
    const seen: Buffer[] = [];
    await pipeline(Readable.from(chunks), h, new Writable({ write(c, _e, cb) { seen.push(c); cb(); } }));
    const all = Buffer.concat(chunks);
    assert.deepEqual(Buffer.concat(seen), all);
    assert.equal(h.bytes, all.length);
    const dir = tmpDir();
    const f = path.join(dir, 'x');
    fs.writeFileSync(f, all);
    assert.equal(h.digest, 'sha256:' + run('sha256sum', [f]).split(' ')[0]);
  });

  it('HashStream refuses to give a digest before the end', () => {
    assert.throws(() => new HashStream().digest, /before the stream ended/);
  });

  it('digestFile matches sha256sum: empty, small (read at once), at the limit and big (streamed)', async () => {
    const dir = tmpDir();
    const sizes: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)], ['small', Buffer.from('hello\n')],
      ['limit', Buffer.alloc(256 * 1024, 'x')], ['over', Buffer.alloc(256 * 1024 + 1, 'y')], ['big', Buffer.alloc(3 << 20, 'ab')],
    ];
    for (const [name, data] of sizes) {
      const f = path.join(dir, name);
      fs.writeFileSync(f, data);
      const d = await digestFile(f);
      assert.equal(d.digest, 'sha256:' + run('sha256sum', [f]).split(' ')[0]);
      assert.equal(d.size, data.length);
    }
  });
});
