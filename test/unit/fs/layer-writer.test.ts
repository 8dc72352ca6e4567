import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { UserError } from '../../../src/log';
import { writeLayer } from '../../../src/fs/layer-writer';
import { type LayerEntry } from '../../../src/fs/types';
import { run, tmpDir } from '../../support/testbed';
import { readTar } from './tar-helpers';

const T = new Date('2024-05-06T07:08:09.123Z');

function e(p: string, type: LayerEntry['type'], extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T, ...extra };
}

function sha256sum(file: string): string {
  return 'sha256:' + run('sha256sum', [file]).split(' ')[0];
}

function tarNames(file: string): string[] {
  return run('tar', ['-tf', file]).split('\n').filter(Boolean);
}

describe('fs/layer-writer', () => {
  let dir: string;
  beforeEach(() => { dir = tmpDir('drydock-lw-'); });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('writes entries sorted, parents before children, without inventing parents', async () => {
    const out = path.join(dir, 'l.tar.gz');
    await writeLayer([
      e('b/x', 'file', { content: Buffer.from('x') }),
      e('a-b', 'file', { content: Buffer.from('') }),
      e('a/z', 'file', { content: Buffer.from('z') }),
      e('b', 'dir'),
      e('a', 'dir'),
      e('a/b', 'dir'),
      e('deep/down/file', 'file', { content: Buffer.from('d') }),
    ], out, { compression: 'gzip' });
    assert.deepEqual(tarNames(out), ['a/', 'a/b/', 'a/z', 'a-b', 'b/', 'b/x', 'deep/down/file']);
  });

  it('digest and diffId match sha256sum of the file and of gunzip -c', async () => {
    const src = path.join(dir, 'big');
    fs.writeFileSync(src, Buffer.alloc(3 * 1024 * 1024 + 17, 'abc'));
    const out = path.join(dir, 'l.tar.gz');
    const r = await writeLayer([e('big', 'file', { source: src }), e('small', 'file', { content: Buffer.from('hi\n') })], out, { compression: 'gzip' });
    assert.equal(r.digest, sha256sum(out));
    assert.equal(r.size, fs.statSync(out).size);
    const plain = path.join(dir, 'plain.tar');
    fs.writeFileSync(plain, run('bash', ['-c', `gunzip -c ${out} | base64 -w0`]), 'base64');
    assert.equal(r.diffId, sha256sum(plain));
    assert.equal(r.uncompressedSize, fs.statSync(plain).size);
    run('tar', ['-xf', out, '-C', dir, 'big']); // GNU tar reads the content back intact
    assert.equal(sha256sum(path.join(dir, 'big')), sha256sum(src));
  });

  it('without compression the digest is the diffId', async () => {
    const out = path.join(dir, 'l.tar');
    const r = await writeLayer([e('f', 'file', { content: Buffer.from('abc') })], out, { compression: 'none' });
    assert.equal(r.digest, r.diffId);
    assert.equal(r.digest, sha256sum(out));
    assert.equal(r.size % 512, 0);
  });

  it('is reproducible: same input gives the same digest; reproducible ignores mtimes and names', async () => {
    const src = path.join(dir, 'src');
    fs.writeFileSync(src, 'content');
    const entries = (t: Date, uname: string): LayerEntry[] => [
      e('d', 'dir', { mtime: t, uname }),
      e('d/f', 'file', { source: src, mtime: t, uname, gname: uname }),
      e('d/l', 'symlink', { linkname: 'f', mtime: t, mode: 0o777 }),
    ];
    const w = (name: string, t: Date, reproducible: boolean, uname = 'root') =>
      writeLayer(entries(t, uname), path.join(dir, name), { compression: 'gzip', reproducible });
    const a = await w('a', T, false);
    const b = await w('b', T, false);
    assert.equal(a.digest, b.digest);
    const c = await w('c', new Date(T.getTime() + 1), false);
    assert.notEqual(c.digest, a.digest, 'sub-second mtime changes the layer when not reproducible');
    const r1 = await w('r1', T, true, 'alice');
    const r2 = await w('r2', new Date(0xdeadbeef000), true, 'bob');
    assert.equal(r1.digest, r2.digest);
    assert.equal(r1.diffId, r2.diffId);
    const listing = run('tar', ['--full-time', '-tvf', path.join(dir, 'r1')]);
    assert.match(listing, /0\/0 .*1970-01-01 00:00:00 d\//);
    const back = await readTar(path.join(dir, 'r1'));
    assert.ok(back.every((x) => x.header.uname === '' && x.header.gname === '' && !x.pax.mtime && !x.pax.atime && !x.pax.ctime));
    const s = await writeLayer(entries(T, 'x'), path.join(dir, 's'), { compression: 'none', reproducible: true, sourceDateEpoch: 1700000000 });
    assert.ok((await readTar(path.join(dir, 's'))).every((x) => x.header.mtime.getTime() === 1700000000000));
    assert.notEqual(s.diffId, r1.diffId);
  });

  it('keeps sub-second mtimes in PAX only when not reproducible', async () => {
    const w = async (reproducible: boolean) => {
      const out = path.join(dir, `m${reproducible}`);
      await writeLayer([e('f', 'file', { content: Buffer.from('x') })], out, { compression: 'none', reproducible });
      return (await readTar(out))[0];
    };
    assert.equal((await w(false)).pax.mtime, String(T.getTime() / 1000));
    assert.equal((await w(true)).pax.mtime, undefined);
  });

  it('turns a second file of the same host inode into a hardlink', async () => {
    const src = path.join(dir, 'orig');
    fs.writeFileSync(src, Buffer.alloc(100000, 1));
    fs.linkSync(src, path.join(dir, 'other'));
    const out = path.join(dir, 'l.tar');
    await writeLayer([
      e('z', 'file', { source: path.join(dir, 'other') }),
      e('a', 'file', { source: src }),
      e('m', 'file', { source: src }),
    ], out, { compression: 'none' });
    const listing = run('tar', ['-tvf', out]);
    assert.match(listing, /^hrw-r--r-- .* m link to a$/m);
    assert.match(listing, /^hrw-r--r-- .* z link to a$/m);
    const back = await readTar(out);
    assert.equal(back[0].data.length, 100000);
    assert.equal(back[1].header.size, 0);
  });

  it('orders an explicit hardlink group so the content comes first in the archive', async () => {
    const out = path.join(dir, 'l.tar');
    await writeLayer([
      e('b/target', 'file', { content: Buffer.from('payload') }),
      e('a/link', 'hardlink', { linkname: '/b/target' }),
      e('c/link2', 'hardlink', { linkname: 'a/link' }),
    ], out, { compression: 'none' });
    const back = await readTar(out);
    assert.deepEqual(back.map((x) => [x.header.name, x.header.type, x.header.linkname ?? null]), [
      ['a/link', 'file', null],
      ['b/target', 'link', 'a/link'],
      ['c/link2', 'link', 'a/link'],
    ]);
    assert.equal(back[0].data.toString(), 'payload');
    run('tar', ['-xf', out, '-C', dir]);
    assert.equal(fs.statSync(path.join(dir, 'c/link2')).ino, fs.statSync(path.join(dir, 'a/link')).ino);
  });

  it('refuses a hardlink whose target is not a file of the layer', async () => {
    await assert.rejects(writeLayer([e('a', 'hardlink', { linkname: 'nope' })], path.join(dir, 'l'), { compression: 'none' }),
      (err: Error) => err instanceof UserError && /"a".*target "nope" is not a file of this layer/.test(err.message));
  });

  it('writes long and unicode names, long link targets, large ids and xattrs in PAX', async () => {
    const longPath = Array.from({ length: 12 }, (_, i) => `component-${i}-abcdefgh`).join('/'); // > 255 bytes
    const longName = 'n'.repeat(200);
    const uni = 'ünïcødé/日本語のファイル.txt';
    const target = '/' + 't'.repeat(150);
    const out = path.join(dir, 'l.tar.gz');
    await writeLayer([
      e(longPath, 'file', { content: Buffer.from('long') }),
      e(longName, 'file', { content: Buffer.from('name') }),
      e(uni, 'file', { content: Buffer.from('uni') }),
      e('sym', 'symlink', { linkname: target, mode: 0o777 }),
      e('big-ids', 'file', { uid: 3000000, gid: 4000000, uname: 'ü-user', content: Buffer.from('') }),
      e('xattr', 'file', { xattrs: { 'user.b': 'two', 'security.capability': Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0]) } }),
    ], out, { compression: 'gzip', reproducible: true });
    const names = tarNames(out);
    assert.deepEqual(names.sort(), [longPath, longName, uni, 'sym', 'big-ids', 'xattr'].sort());
    const listing = run('tar', ['--numeric-owner', '-tvf', out]);
    assert.match(listing, /3000000\/4000000 .* big-ids/);
    assert.ok(listing.includes(`sym -> ${target}`));
    const back = await readTar(out);
    const x = back.find((b) => b.header.name === 'xattr')!;
    assert.equal(x.pax['SCHILY.xattr.user.b'], 'two');
    assert.ok('SCHILY.xattr.security.capability' in x.pax);
    assert.equal(back.find((b) => b.header.name === uni)!.data.toString(), 'uni');
    // GNU tar takes the PAX records (xattrs included) and extracts the long name
    const dest = tmpDir();
    run('tar', ['--xattrs', "--xattrs-include=*", '-xf', out, '-C', dest, longPath]);
    assert.equal(fs.readFileSync(path.join(dest, longPath), 'utf8'), 'long');
    fs.rmSync(dest, { recursive: true, force: true });
  });

  it('keeps setuid, setgid and sticky bits, empty dirs, devices and fifos', async () => {
    const out = path.join(dir, 'l.tar');
    await writeLayer([
      e('bin/su', 'file', { mode: 0o4755, content: Buffer.from('#!') }),
      e('bin/wall', 'file', { mode: 0o2755, content: Buffer.from('#!') }),
      e('tmp', 'dir', { mode: 0o1777 }),
      e('empty', 'dir', { mode: 0o700 }),
      e('dev/null', 'char', { mode: 0o666, devmajor: 1, devminor: 3 }),
      e('dev/sda', 'block', { mode: 0o660, devmajor: 8, devminor: 0 }),
      e('run/fifo', 'fifo', { mode: 0o600 }),
    ], out, { compression: 'none' });
    const listing = run('tar', ['-tvf', out]);
    assert.match(listing, /^-rwsr-xr-x .* bin\/su$/m);
    assert.match(listing, /^-rwxr-sr-x .* bin\/wall$/m);
    assert.match(listing, /^drwxrwxrwt .* tmp\/$/m);
    assert.match(listing, /^drwx------ .* empty\/$/m);
    assert.match(listing, /^crw-rw-rw- .* 1,3 .* dev\/null$/m);
    assert.match(listing, /^brw-rw---- .* 8,0 .* dev\/sda$/m);
    assert.match(listing, /^prw------- .* run\/fifo$/m);
  });

  it('writes whiteouts beside their victims and the opaque marker first in its directory', async () => {
    const out = path.join(dir, 'l.tar');
    await writeLayer([
      e('etc/zz', 'file', { content: Buffer.from('') }),
      e('etc/aa', 'whiteout'),
      e('etc', 'dir'),
      e('etc', 'opaque'),
      e('top', 'whiteout'),
      e('etc/-', 'file', { content: Buffer.from('') }),
    ], out, { compression: 'none' });
    assert.deepEqual(tarNames(out), ['.wh.top', 'etc/', 'etc/.wh..wh..opq', 'etc/-', 'etc/.wh.aa', 'etc/zz']);
    const back = await readTar(out);
    assert.ok(back.filter((b) => b.header.name.includes('.wh.')).every((b) => b.header.type === 'file' && b.header.size === 0));
  });

  it('rejects bad entries with the path in the message', async () => {
    const bad: Array<[LayerEntry[], RegExp]> = [
      [[e('a/../../etc/passwd', 'file')], /"a\/..\/..\/etc\/passwd": ".." is not allowed/],
      [[e('a', 'file'), e('/a/', 'dir')], /"\/a\/": the path "a" occurs twice/],
      [[e('s', 'symlink')], /"s": symlink without a target/],
      [[e('f', 'file', { source: '/nonexistent/file' })], /"f": cannot open source file \/nonexistent\/file/],
      [[e('f', 'file', { source: '/etc/hostname', content: Buffer.from('') })], /either source or content/],
    ];
    for (const [entries, re] of bad) {
      const out = path.join(dir, 'bad.tar');
      await assert.rejects(writeLayer(entries, out, { compression: 'gzip' }), (err: Error) => err instanceof UserError && re.test(err.message));
      assert.ok(!fs.existsSync(out), 'no partial layer is left behind');
    }
  });

  it('streams many small files in order', async () => {
    const srcDir = path.join(dir, 'many');
    fs.mkdirSync(srcDir);
    const entries: LayerEntry[] = [];
    for (let i = 0; i < 500; i++) {
      const f = path.join(srcDir, `f${i}`);
      fs.writeFileSync(f, `file ${i}\n`.repeat(i));
      entries.push(e(`many/f${i}`, 'file', { source: f }));
    }
    const out = path.join(dir, 'l.tar.gz');
    await writeLayer(entries, out, { compression: 'gzip' });
    const back = await readTar(out);
    assert.equal(back.length, 500);
    for (const b of back) {
      const i = Number(b.header.name.slice('many/f'.length));
      assert.equal(b.data.toString(), `file ${i}\n`.repeat(i));
    }
  });

  it('fails, not hangs, when a full tap closes without draining', async () => {
    const stuck = new Writable({ highWaterMark: 1, write() { /* never done: the tap stays full */ } });
    setTimeout(() => stuck.destroy(), 50);
    await assert.rejects(
      writeLayer([e('a', 'file', { content: Buffer.alloc(300 * 1024) }), e('b', 'file', { content: Buffer.alloc(300 * 1024) })], path.join(dir, 'l.tar'), { compression: 'none', tap: stuck }),
      /the layer tap closed early/,
    );
    assert.equal(fs.existsSync(path.join(dir, 'l.tar')), false);
  });

  it('reuses its read buffers without corrupting a large file (more than 8 chunks), with and without gzip', async () => {
    const src = path.join(dir, 'big');
    const content = Buffer.alloc(11 * 1024 * 1024 + 333);
    for (let i = 0; i < content.length; i += 4) content.writeUInt32LE((i * 2654435761) >>> 0, i - (i + 4 > content.length ? i + 4 - content.length : 0));
    fs.writeFileSync(src, content);
    for (const compression of ['none', 'gzip'] as const) {
      const out = path.join(dir, `l-${compression}`);
      await writeLayer([e('big', 'file', { source: src })], out, { compression });
      const back = await readTar(out);
      assert.equal(back.length, 1);
      assert.ok(back[0].data.equals(content), `${compression}: content differs`);
    }
  });

  it('names the tap when it is destroyed while it finishes (the extraction failed on the last chunks)', async () => {
    // its final step never completes; the tap is destroyed meanwhile, as a failed extraction does
    const finishing = new Writable({ write(_c, _e, cb) { cb(); }, final() { setTimeout(() => finishing.destroy(), 20); } });
    finishing.on('error', () => undefined);
    await assert.rejects(
      writeLayer([e('a', 'file', { content: Buffer.alloc(1000) })], path.join(dir, 'l.tar'), { compression: 'none', tap: finishing }),
      /the layer tap closed early/,
    );
  });

  it('without an output file streams the layer to its tap only, hashed all the same', async () => {
    const src = path.join(dir, 'big');
    fs.writeFileSync(src, Buffer.alloc(3 * 1024 * 1024 + 7, 'z'));
    const entries = [e('a', 'dir'), e('a/big', 'file', { source: src }), e('a/small', 'file', { content: Buffer.from('s') })];
    const chunks: Buffer[] = [];
    // the tap may get the writer's reusable read buffers: keep copies
    const tap = new Writable({ write(c: Buffer, _e, cb) { chunks.push(Buffer.from(c)); cb(); } });
    const before = fs.readdirSync(dir);
    const r = await writeLayer(entries, null, { compression: 'none', tap, tapCopies: false });
    assert.deepEqual(fs.readdirSync(dir), before, 'no file written');
    const file = path.join(dir, 'tapped.tar');
    fs.writeFileSync(file, Buffer.concat(chunks));
    assert.equal(r.diffId, sha256sum(file));
    assert.deepEqual(tarNames(file), ['a/', 'a/big', 'a/small']);
    const kept = path.join(dir, 'kept.tar');
    assert.equal((await writeLayer(entries, kept, { compression: 'none' })).diffId, r.diffId);
  });
});
