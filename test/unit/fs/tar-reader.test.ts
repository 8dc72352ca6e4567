// The extraction's tar reader against tar-stream (the reader it replaced there, and the one the
// other layer readers use) on archives GNU tar wrote in each of its formats, fed in chunks of
// every awkward size; and its errors on broken archives.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { readTar, TarFormatError, type TarHeader } from '../../../src/fs/tar-reader';
import { tmpDir } from '../../support/testbed';
import { makeTar, readTarBytes } from './tar-helpers';

interface Seen { header: Omit<Partial<TarHeader>, 'type'> & { type?: string | null }; data: string }

function chunked(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

/** What our reader sees; `readData` false leaves every entry's data unread (the reader skips it). */
async function ours(buf: Buffer, chunk: number, readData = true): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const e of readTar(Readable.from(chunked(buf, chunk)))) {
    const parts: Buffer[] = [];
    if (readData) for await (const c of e) parts.push(c);
    const h = e.header;
    out.push({ header: { name: h.name, type: h.type ?? null, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size, mtime: h.mtime, linkname: h.linkname, uname: h.uname, gname: h.gname, devmajor: h.devmajor, devminor: h.devminor, pax: h.pax }, data: Buffer.concat(parts).toString('latin1') });
  }
  return out;
}

async function theirs(buf: Buffer): Promise<Seen[]> {
  return (await readTarBytes(buf)).map(({ header: h, data }) => ({
    header: { name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size, mtime: h.mtime, linkname: h.linkname, uname: h.uname, gname: h.gname, devmajor: h.devmajor, devminor: h.devminor, pax: h.pax as Record<string, string> | null },
    data: data.toString('latin1'),
  }));
}

describe('fs/tar-reader', function () {
  this.timeout(60000);
  let dir: string;
  const archives: Record<string, Buffer> = {};

  before(() => {
    dir = tmpDir('drydock-tar-reader-');
    const src = path.join(dir, 'src');
    const long = 'a-very-long-directory-name-that-goes-on'.repeat(4);
    fs.mkdirSync(path.join(src, long, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, long, 'sub', `${'f'.repeat(120)}.txt`), 'deep\n');
    fs.writeFileSync(path.join(src, 'small.txt'), 'hello\n');
    fs.writeFileSync(path.join(src, 'block.bin'), Buffer.alloc(512, 7));
    fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(300_001, 9));
    fs.writeFileSync(path.join(src, 'empty'), '');
    fs.writeFileSync(path.join(src, 'üñí©ødé.txt'), 'unicode\n');
    fs.symlinkSync('small.txt', path.join(src, 'link'));
    fs.symlinkSync(`/${long}/${'t'.repeat(150)}`, path.join(src, 'long-link'));
    fs.linkSync(path.join(src, 'small.txt'), path.join(src, 'hard'));
    spawnSync('mkfifo', [path.join(src, 'fifo')]);
    fs.chmodSync(path.join(src, 'small.txt'), 0o4755);
    fs.utimesSync(path.join(src, 'small.txt'), new Date('1999-12-31T23:59:59Z'), new Date('1999-12-31T23:59:59Z'));
    if (process.getuid?.() === 0) fs.lchownSync(path.join(src, 'block.bin'), 3_000_000, 3_000_001); // past ustar's 7 octal digits
    spawnSync('setfattr', ['-n', 'user.note', '-v', '0x00ff10', path.join(src, 'small.txt')]);
    for (const format of ['gnu', 'oldgnu', 'posix', 'ustar']) {
      const file = path.join(dir, `${format}.tar`);
      const extra = format === 'posix' ? ['--xattrs', '--xattrs-include=user.*'] : [];
      // ustar cannot hold the long names: GNU tar leaves those out (exit 2) and writes the rest
      const r = spawnSync('tar', ['-C', src, `--format=${format}`, ...extra, '-cf', file, '.'], { encoding: 'utf8' });
      assert.ok(r.status === 0 || format === 'ustar', `tar --format=${format}: ${r.stderr}`);
      archives[format] = fs.readFileSync(file);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const format of ['gnu', 'oldgnu', 'posix', 'ustar']) {
    it(`reads what GNU tar writes as ${format} as tar-stream does, in chunks of any size`, async () => {
      const want = await theirs(archives[format]);
      assert.ok(want.length >= 9, `${want.length} entries`);
      for (const chunk of [1, 7, 511, 512, 513, 4096, 1 << 20]) {
        assert.deepEqual(await ours(archives[format], chunk), want, `chunks of ${chunk}`);
      }
      // entries whose data nobody reads are skipped whole: the next header is found all the same
      assert.deepEqual((await ours(archives[format], 1000, false)).map((e) => e.header), want.map((e) => e.header));
    });
  }

  it('keeps binary extended attribute values byte for byte (PAX SCHILY.xattr)', async () => {
    const small = (await ours(archives.posix, 4096)).find((e) => e.header.name === './small.txt');
    assert.ok(small?.header.pax, 'small.txt has PAX records');
    assert.deepEqual(Buffer.from(small.header.pax['SCHILY.xattr.user.note'], 'latin1'), Buffer.from([0x00, 0xff, 0x10]));
  });

  it('applies global PAX records to the entries after them, a PAX size, and a trailing slash as a directory', async () => {
    const paxRecord = (k: string, v: string) => { const body = ` ${k}=${v}\n`; let n = body.length + 1; while (String(n).length + body.length !== n) n++; return `${n}${body}`; };
    const header = (name: string, typeflag: string, size: number) => {
      const b = Buffer.alloc(512);
      b.write(name, 0, 100, 'utf8');
      b.write('0000644\0', 100); b.write('0000000\0', 108); b.write('0000000\0', 116);
      b.write(size.toString(8).padStart(11, '0') + '\0', 124); b.write('00000000000\0', 136);
      b.write(typeflag, 156); b.write('ustar\x0000', 257, 'latin1');
      b.fill(0x20, 148, 156);
      let sum = 0; for (const x of b) sum += x;
      b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
      return b;
    };
    const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
    const globalBody = Buffer.from(paxRecord('comment', 'everywhere'));
    const localBody = Buffer.from(paxRecord('path', 'renamed/by/pax') + paxRecord('size', '3'));
    const buf = Buffer.concat([
      header('empty-pax', 'x', 0), // a PAX header without records: nothing to apply
      header('global', 'g', globalBody.length), pad(globalBody),
      header('PaxHeader', 'x', localBody.length), pad(localBody),
      header('short-name', '0', 0), pad(Buffer.from('abc')),
      header('old-style-dir/', '0', 0),
      Buffer.alloc(1024),
    ]);
    const got = await ours(buf, 100);
    assert.deepEqual(await ours(buf, 512), got, 'block-sized chunks (the empty PAX header ends one)');
    assert.deepEqual(got.map((e) => [e.header.name, e.header.type, e.data, e.header.pax]), [
      ['renamed/by/pax', 'file', 'abc', { comment: 'everywhere', path: 'renamed/by/pax', size: '3' }],
      ['old-style-dir/', 'directory', '', null],
    ]);
  });

  it('refuses a NUL in a PAX path, linkpath, uname or gname record, naming the entry, as Go\'s archive/tar does', async () => {
    for (const key of ['path', 'linkpath', 'uname', 'gname']) {
      const tarBytes = await makeTar([{ header: { name: 'plain', type: key === 'linkpath' ? 'symlink' : 'file', linkname: 'x', pax: { [key]: 'good\0../../evil' } }, data: '' }]);
      await assert.rejects(ours(tarBytes, 512), (e: Error) => e instanceof TarFormatError && e.message.includes(`entry "PaxHeader": its PAX ${key} record holds a NUL byte`), key);
    }
    const fine = await makeTar([{ header: { name: 'plain', pax: { comment: 'a\0b' } }, data: '' }]);
    assert.deepEqual((await ours(fine, 512)).map((e) => e.header.name), ['plain'], 'other records may hold one');
  });

  it('expands GNU sparse files (old GNU, PAX 0.0, 0.1 and 1.0) to their content under their own name, holes as zeros', async () => {
    // 60 data segments (old GNU's extended headers, a 1.0 map of several blocks), holes before,
    // between and after them
    const sparse = path.join(dir, 'sparse-src');
    fs.mkdirSync(sparse);
    const file = path.join(sparse, 'holey');
    const fd = fs.openSync(file, 'w');
    const content = Buffer.alloc(60 * 16384 + 40960);
    for (let i = 0; i < 60; i++) {
      const seg = Buffer.alloc(4096 + i, 0x41 + (i % 26));
      seg.copy(content, 8192 + i * 16384);
      fs.writeSync(fd, seg, 0, seg.length, 8192 + i * 16384);
    }
    fs.ftruncateSync(fd, content.length);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(sparse, 'after'), 'next entry\n');
    for (const [label, args] of [['old GNU', ['--format=gnu']], ...['0.0', '0.1', '1.0'].map((v) => [`PAX ${v}`, ['--format=posix', `--sparse-version=${v}`]])] as Array<[string, string[]]>) {
      const tarFile = path.join(dir, 'sparse.tar');
      const r = spawnSync('tar', ['-C', sparse, '--sparse', ...args, '-cf', tarFile, 'holey', 'after'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const tarBytes = fs.readFileSync(tarFile);
      for (const chunk of [512, 7777]) {
        const got = await ours(tarBytes, chunk);
        assert.deepEqual(got.map((e) => [e.header.name, e.header.type, e.header.size]), [['holey', 'file', content.length], ['after', 'file', 11]], label);
        assert.ok(Buffer.from(got[0].data, 'latin1').equals(content), `${label}: content`);
        assert.equal(got[1].data, 'next entry\n');
      }
      const unread = await ours(tarBytes, 4096, false);
      assert.deepEqual(unread.map((e) => e.header.name), ['holey', 'after'], `${label}: skipped unread`);
    }
  });

  it('refuses a GNU sparse map that does not fit its data, naming the entry', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'GNU.sparse.map': '0,2,10,2', 'GNU.sparse.size': '20' }, /sparse map holds 4 bytes of data, the archive 3/],
      [{ 'GNU.sparse.map': '10,3,0,0', 'GNU.sparse.size': '20' }, /invalid at segment 1/],
      [{ 'GNU.sparse.map': '0,3', 'GNU.sparse.size': '2' }, /invalid at segment 0/],
      [{ 'GNU.sparse.map': '0,x', 'GNU.sparse.size': '9' }, /invalid at segment 0/],
      [{ 'GNU.sparse.major': '2', 'GNU.sparse.minor': '0' }, /GNU sparse format 2.0 is not known/],
    ];
    for (const [pax, re] of cases) {
      const tarBytes = await makeTar([{ header: { name: 'sp', pax: { ...pax, 'GNU.sparse.name': 'sp' } }, data: 'abc' }]);
      await assert.rejects(ours(tarBytes, 512), (e: Error) => e instanceof TarFormatError && /"sp"|sparse format/.test(e.message) && re.test(e.message), JSON.stringify(pax));
    }
    const ok = await makeTar([{ header: { name: 'sp', pax: { 'GNU.sparse.map': '2,3', 'GNU.sparse.size': '7', 'GNU.sparse.name': 'real' } }, data: 'abc' }]);
    assert.deepEqual((await ours(ok, 512)).map((e) => [e.header.name, e.data]), [['real', '\0\0abc\0\0']]);
  });

  it('reads base-256 numbers, negative ones in two\'s complement as Go does (0xff…ff is -1)', async () => {
    const tarBytes = await makeTar([{ header: { name: 'n' }, data: 'x' }]);
    const withTime = (field: Buffer) => {
      const b = Buffer.from(tarBytes);
      field.copy(b, 136);
      b.fill(0x20, 148, 156);
      let sum = 0; for (let i = 0; i < 512; i++) sum += b[i];
      b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
      return b;
    };
    const base256 = (v: bigint) => Buffer.from(BigInt.asUintN(96, v).toString(16).padStart(24, '0'), 'hex').fill(v < 0n ? 0xff : 0x80, 0, 1);
    for (const t of [-1, -31536000, -2, 0, 1, 0x7fffffff, 8589934592]) {
      const field = base256(BigInt(t));
      if (t >= 0) field[0] = 0x80;
      const [e] = await ours(withTime(field), 512);
      assert.equal((e.header.mtime as Date).getTime(), t * 1000, `mtime ${t}`);
    }
    // beyond what a number holds exactly: not a time (the first byte's low bits count as 2^88)
    const big = Buffer.alloc(12); big[0] = 0x81; big[11] = 0x02;
    assert.ok(Number.isNaN(((await ours(withTime(big), 512))[0].header.mtime as Date).getTime()));
  });

  it('reads an archive without end blocks, or ended by one zero block alone', async () => {
    const one = await makeTar([{ header: { name: 'a' }, data: 'A' }]);
    const body = one.subarray(0, 1024); // header + one data block, no end blocks
    assert.deepEqual((await ours(body, 300)).map((e) => [e.header.name, e.data]), [['a', 'A']]);
    assert.deepEqual((await ours(Buffer.concat([body, Buffer.alloc(512)]), 300)).map((e) => e.header.name), ['a']);
    await assert.rejects(ours(Buffer.concat([body, Buffer.alloc(700)]), 300), /unexpected end of data inside a tar header/);
  });

  it('stops at the end-of-archive marker (two zero blocks): an archive appended after it is not read, as GNU tar and Go read it', async () => {
    const first = await makeTar([{ header: { name: 'a' }, data: 'A' }]);
    const second = await makeTar([{ header: { name: 'evil' }, data: 'E' }]);
    for (const chunk of [100, 512, 1024, 5000]) {
      assert.deepEqual((await ours(Buffer.concat([first, second]), chunk)).map((e) => e.header.name), ['a'], `chunks of ${chunk}`);
    }
    const body = first.subarray(0, 1024);
    assert.deepEqual((await ours(Buffer.concat([body, Buffer.alloc(1024), Buffer.alloc(512, 1)]), 300)).map((e) => e.header.name), ['a'], 'garbage after the marker is not read');
    // Go's archive/tar refuses a zero block followed by a header
    await assert.rejects(ours(Buffer.concat([body, Buffer.alloc(512), body]), 300), (e: Error) => e instanceof TarFormatError && /lone zero block/.test(e.message));
  });

  it('reports corrupt and truncated archives', async () => {
    const good = await makeTar([{ header: { name: 'f' }, data: 'x'.repeat(2000) }]);
    const bad = Buffer.from(good);
    bad[10] ^= 0xff;
    await assert.rejects(ours(bad, 512), (e: Error) => e instanceof TarFormatError && /bad checksum/.test(e.message));
    await assert.rejects(ours(good.subarray(0, 1000), 512), (e: Error) => e instanceof TarFormatError && /unexpected end of data inside "f"/.test(e.message));
    await assert.rejects(ours(good.subarray(0, 1000), 512, false), /unexpected end of data/);
    await assert.rejects(ours(good.subarray(0, 300), 512), /unexpected end of data inside a tar header/);
    const v7 = Buffer.from(good);
    v7.fill(0, 257, 265); // no ustar magic
    v7.fill(0x20, 148, 156);
    let sum = 0; for (let i = 0; i < 512; i++) sum += v7[i];
    v7.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    await assert.rejects(ours(v7, 512), /unknown format/);
    assert.deepEqual(await ours(Buffer.alloc(0), 512), []);
  });
});
