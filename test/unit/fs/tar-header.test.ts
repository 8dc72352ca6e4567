import * as assert from 'node:assert/strict';
import { encodeHeader, paddingFor, type TarHeader } from '../../../src/fs/tar-header';

const base: TarHeader = { name: 'f', typeflag: '0', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeMs: 0 };

/** Parse PAX records strictly: every declared length must match the record exactly. */
function paxRecords(block: Buffer): Array<[string, string]> {
  const size = parseInt(block.subarray(124, 135).toString('ascii'), 8);
  let data = block.subarray(512, 512 + size);
  const out: Array<[string, string]> = [];
  while (data.length) {
    const sp = data.indexOf(0x20);
    const len = Number(data.subarray(0, sp).toString('ascii'));
    assert.equal(data[len - 1], 0x0a, 'record ends exactly at its declared length');
    const rec = data.subarray(sp + 1, len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    out.push([rec.slice(0, eq), rec.slice(eq + 1)]);
    data = data.subarray(len);
  }
  return out;
}

function checksumOk(block: Buffer): boolean {
  const stored = parseInt(block.subarray(148, 154).toString('ascii'), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === stored;
}

describe('fs/tar-header', () => {
  it('writes a plain ustar block when everything fits', () => {
    const b = encodeHeader({ ...base, name: 'usr/bin/x', size: 1234, mtimeMs: 1700000000999, uname: 'root' });
    assert.equal(b.length, 512);
    assert.equal(b.subarray(257, 265).toString('latin1'), 'ustar\x0000');
    assert.equal(b.subarray(124, 136).toString('ascii'), '00000002322\0');
    assert.equal(parseInt(b.subarray(136, 147).toString('ascii'), 8), 1700000000, 'mtime truncated to seconds');
    assert.ok(checksumOk(b));
  });

  it('splits long ascii names into prefix and name before resorting to PAX', () => {
    const name = 'a'.repeat(120) + '/' + 'b'.repeat(90);
    const b = encodeHeader({ ...base, name });
    assert.equal(b.length, 512);
    assert.equal(b.subarray(345, 345 + 120).toString('ascii'), 'a'.repeat(120));
  });

  it('gets PAX record lengths right across digit boundaries', () => {
    for (let n = 80; n < 1010; n += 1) {
      const name = 'é'.repeat(n >> 1) + 'x'.repeat(n & 1); // non-ASCII forces a path record
      const b = encodeHeader({ ...base, name });
      assert.ok(checksumOk(b));
      const recs = paxRecords(b);
      assert.deepEqual(recs, [['path', name]]);
      const size = parseInt(b.subarray(124, 135).toString('ascii'), 8);
      assert.equal(b.length, 512 + size + paddingFor(size) + 512);
    }
  });

  it('moves oversized numbers and fractional mtimes to PAX', () => {
    const b = encodeHeader({ ...base, uid: 0o10000000, gid: 5, size: 0o100000000000, mtimeMs: 1500, preciseMtime: true, xattrs: [['user.x', Buffer.from('v')]] });
    assert.deepEqual(paxRecords(b), [['size', String(0o100000000000)], ['uid', String(0o10000000)], ['mtime', '1.5'], ['SCHILY.xattr.user.x', 'v']]);
  });
});
