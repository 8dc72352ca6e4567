import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { which } from '../../../src/build/isolation/host-tools';
import { UserError } from '../../../src/log';
import { extractLayer, fileWritersBeside, type ExtractOptions } from '../../../src/fs/extract';
import { IgnoreList } from '../../../src/fs/ignore';
import { writeLayer } from '../../../src/fs/layer-writer';
import { type LayerEntry } from '../../../src/fs/types';
import { tmpDir } from '../../support/testbed';
import { makeTar } from './tar-helpers';

const T = new Date('2021-02-03T04:05:06.789Z');
const T2 = new Date('2022-01-01T00:00:00Z');

function e(p: string, type: LayerEntry['type'], extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T, ...extra };
}

type TarSpec = Parameters<typeof makeTar>[0];

describe('fs/extract: file writer threads wanted', () => {
  it('one per core beyond the extracting thread, gunzip and the busy ones, up to 3; or as DRYDOCK_FILE_WRITERS says', () => {
    const cores = os.availableParallelism();
    assert.equal(fileWritersBeside(0, {}), Math.max(0, Math.min(3, cores - 2)));
    assert.equal(fileWritersBeside(1, {}), Math.max(0, Math.min(3, cores - 3)));
    assert.equal(fileWritersBeside(1, { DRYDOCK_FILE_WRITERS: '2' }), 2);
    assert.equal(fileWritersBeside(0, { DRYDOCK_FILE_WRITERS: '0' }), 0);
    assert.equal(fileWritersBeside(0, { DRYDOCK_FILE_WRITERS: 'lots' }), Math.max(0, Math.min(3, cores - 2)));
  });
});

// Every behaviour in both ways of creating files: on the extracting thread, and by writer
// threads from the first file on (src/fs/file-writers.ts).
for (const [label, mode] of [['', { fileWriters: 0 }], [' (file writer threads)', { fileWriters: 2, fileWritersAfter: 0 }]] as Array<[string, ExtractOptions]>) describe(`fs/extract${label}`, () => {
  let base: string;
  let root: string;
  let outside: string;
  beforeEach(() => {
    base = tmpDir('drydock-ex-');
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    fs.mkdirSync(root);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'untouched');
  });
  afterEach(() => { fs.rmSync(base, { recursive: true, force: true }); });

  const apply = (tarBytes: Buffer, opts: ExtractOptions = {}) => extractLayer(Readable.from([tarBytes]), root, { ...mode, ...opts });
  const apply0 = (input: Readable) => extractLayer(input, root, mode);
  const applyEntries = (entries: TarSpec, opts: ExtractOptions = {}) => makeTar(entries).then((b) => apply(b, opts));
  const assertOutsideUntouched = () => {
    assert.deepEqual(fs.readdirSync(outside), ['secret']);
    assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'untouched');
    assert.equal(fs.statSync(path.join(outside, 'secret')).nlink, 1);
  };
  const rootHas = (p: string) => fs.existsSync(path.join(root, p)) || isLink(path.join(root, p));
  const isLink = (p: string) => { try { return fs.lstatSync(p).isSymbolicLink(); } catch { return false; } };

  async function layerFile(entries: LayerEntry[], compression: 'gzip' | 'none' = 'gzip'): Promise<string> {
    const f = path.join(base, `layer-${Math.random()}.tar`);
    await writeLayer(entries, f, { compression });
    return f;
  }

  it('round-trips a written layer (gzip auto-detected): contents, modes, owners, mtimes, links', async () => {
    const src = path.join(base, 'payload');
    fs.writeFileSync(src, Buffer.alloc(200000, 'p'));
    const f = await layerFile([
      e('usr', 'dir', { mtime: T2 }),
      e('usr/bin', 'dir', { mode: 0o751, uid: 1000, gid: 1001 }),
      e('usr/bin/su', 'file', { mode: 0o4755, uid: 1000, gid: 1000, content: Buffer.from('su') }),
      e('usr/bin/big', 'file', { source: src, mode: 0o600 }),
      e('usr/bin/big-link', 'hardlink', { linkname: 'usr/bin/big' }),
      e('usr/bin/rel', 'symlink', { linkname: 'su', mode: 0o777, uid: 5, gid: 6 }),
      e('usr/bin/dangling', 'symlink', { linkname: '/nonexistent/target', mode: 0o777 }),
      e('tmp', 'dir', { mode: 0o1777 }),
      e('empty', 'dir', { mode: 0o700, mtime: T2 }),
      e('run/fifo', 'fifo', { mode: 0o640 }),
    ]);
    const seen: string[] = [];
    const r = await extractLayer(fs.createReadStream(f), root, { ...mode, onEntry: (p, t) => seen.push(`${t}:${p}`) });
    assert.equal(r.files, 10);
    assert.ok(seen.includes('hardlink:usr/bin/big-link') && seen.includes('dir:usr'));
    const st = (p: string) => fs.lstatSync(path.join(root, p));
    assert.equal(fs.readFileSync(path.join(root, 'usr/bin/big')).length, 200000);
    assert.equal(st('usr/bin/big').ino, st('usr/bin/big-link').ino);
    assert.equal(st('usr/bin/su').mode & 0o7777, 0o4755, 'setuid survives the chown');
    assert.equal(st('usr/bin/su').uid, 1000);
    assert.equal(st('usr/bin').mode & 0o7777, 0o751);
    assert.equal(st('usr/bin').gid, 1001);
    assert.equal(st('tmp').mode & 0o7777, 0o1777);
    assert.equal(st('usr/bin/big').mode & 0o7777, 0o600);
    assert.equal(fs.readlinkSync(path.join(root, 'usr/bin/rel')), 'su');
    assert.equal(st('usr/bin/rel').uid, 5);
    assert.equal(fs.readlinkSync(path.join(root, 'usr/bin/dangling')), '/nonexistent/target');
    assert.equal(st('usr/bin/su').mtimeMs, T.getTime(), 'sub-second mtime from PAX');
    assert.equal(st('usr').mtimeMs, T2.getTime(), 'directory mtime set after its children');
    assert.equal(st('empty').mtimeMs, T2.getTime());
    assert.ok(st('run/fifo').isFIFO());
    assert.equal(st('run').mode & 0o777, 0o755, 'implicit parents are 0755');
  });

  it('reads a layer gzipped as several members (ours, from parallel gzip), in any read sizes', async () => {
    const src = path.join(base, 'big');
    const big = Buffer.alloc(3 * 1024 * 1024 + 5);
    for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    fs.writeFileSync(src, big);
    const layer = await layerFile([e('big', 'file', { source: src })], 'gzip');
    await extractLayer(fs.createReadStream(layer, { highWaterMark: 7777 }), root, mode);
    assert.ok(fs.readFileSync(path.join(root, 'big')).equals(big));
  });

  it('reads plain tar as well', async () => {
    const f = await layerFile([e('a', 'file', { content: Buffer.from('plain') })], 'none');
    await extractLayer(fs.createReadStream(f), root, mode);
    assert.equal(fs.readFileSync(path.join(root, 'a'), 'utf8'), 'plain');
  });

  it('checks the uncompressed stream against the diffID it is given, naming the layer, the expected and the actual one', async () => {
    const f = await layerFile([e('a', 'file', { content: Buffer.from('plain') })], 'gzip');
    const tarBytes = zlib.gunzipSync(fs.readFileSync(f));
    const right = 'sha256:' + createHash('sha256').update(tarBytes).digest('hex');
    const wrong = 'sha256:' + createHash('sha256').update('another layer').digest('hex');
    await extractLayer(fs.createReadStream(f, { highWaterMark: 1000 }), root, { ...mode, diffId: right, layerName: 'sha256:abc of image x' });
    assert.equal(fs.readFileSync(path.join(root, 'a'), 'utf8'), 'plain');
    await assert.rejects(extractLayer(fs.createReadStream(f), root, { ...mode, diffId: wrong, layerName: 'sha256:abc of image x' }),
      (err: Error) => err instanceof UserError && err.message.includes(`layer sha256:abc of image x: its uncompressed content hashes to ${right}, but the image config's diff_id is ${wrong}`));
    const sha512 = 'sha512:' + createHash('sha512').update(tarBytes).digest('hex');
    await extractLayer(fs.createReadStream(f), root, { ...mode, diffId: sha512 });
    await assert.rejects(extractLayer(fs.createReadStream(f), root, { ...mode, diffId: 'md5:00' }), /diff_id "md5:00" is not a sha256 or sha512 digest/);
  });

  it('applies nothing after the end-of-archive marker, reading it only for the diffID', async () => {
    const first = await makeTar([{ header: { name: 'a' }, data: 'A' }]);
    const second = await makeTar([{ header: { name: 'evil' }, data: 'E' }]);
    const both = Buffer.concat([first, second]);
    const diffId = 'sha256:' + createHash('sha256').update(both).digest('hex');
    assert.equal((await apply(zlib.gzipSync(both), { diffId })).files, 1);
    assert.deepEqual(fs.readdirSync(root), ['a']);
  });

  it('keeps times before 1970 (Node takes a negative number for "now")', async () => {
    const old = { mtime: '-31536000.5' };
    await applyEntries([
      { header: { name: 'dir/', type: 'directory', pax: old } },
      { header: { name: 'dir/file', type: 'file', pax: old }, data: 'x' },
      { header: { name: 'dir/link', type: 'symlink', linkname: 'file', pax: old } },
    ]);
    for (const p of ['dir', 'dir/file', 'dir/link']) assert.equal(fs.lstatSync(path.join(root, p)).mtimeMs, -31536000500, p);
  });

  it('applies whiteouts to lower layers', async () => {
    await apply(fs.readFileSync(await layerFile([
      e('a', 'dir'), e('a/b', 'dir'), e('a/b/c', 'file'), e('a/keep', 'file'), e('top', 'file'),
    ])));
    await apply(fs.readFileSync(await layerFile([e('a/b', 'whiteout'), e('top', 'whiteout'), e('never/was', 'whiteout')])));
    assert.ok(!rootHas('a/b'));
    assert.ok(!rootHas('top'));
    assert.ok(rootHas('a/keep'));
    assert.ok(!rootHas('never'), 'a whiteout does not create parents');
  });

  it('clears lower contents of an opaque directory but keeps the same layer\'s entries in either order', async () => {
    await apply(fs.readFileSync(await layerFile([
      e('d', 'dir'), e('d/old', 'file'), e('d/sub', 'dir'), e('d/sub/old2', 'file'), e('d2', 'dir'), e('d2/old', 'file'), e('other', 'file'),
    ])));
    // canonical order: marker first
    await apply(fs.readFileSync(await layerFile([e('d', 'dir'), e('d', 'opaque'), e('d/new', 'file')])));
    assert.deepEqual(fs.readdirSync(path.join(root, 'd')), ['new']);
    // marker after this layer's own entries, including a merged lower subdirectory
    await applyEntries([
      { header: { name: 'd2/', type: 'directory' } },
      { header: { name: 'd2/new', type: 'file' }, data: 'n' },
      { header: { name: 'd2/.wh..wh..opq', type: 'file' } },
    ]);
    assert.deepEqual(fs.readdirSync(path.join(root, 'd2')), ['new']);
    assert.ok(rootHas('other'));
  });

  it('a whiteout does not delete what the same layer wrote', async () => {
    fs.writeFileSync(path.join(root, 'foo'), 'lower');
    fs.mkdirSync(path.join(root, 'dir'));
    fs.writeFileSync(path.join(root, 'dir/lower'), 'lower');
    await applyEntries([
      { header: { name: 'foo', type: 'file' }, data: 'upper' },
      { header: { name: 'dir/upper', type: 'file' }, data: 'upper' },
      { header: { name: '.wh.foo', type: 'file' } },
      { header: { name: '.wh.dir', type: 'file' } },
    ]);
    assert.equal(fs.readFileSync(path.join(root, 'foo'), 'utf8'), 'upper');
    assert.deepEqual(fs.readdirSync(path.join(root, 'dir')), ['upper']);
  });

  it('replaces a file with a directory and a directory with a file', async () => {
    fs.writeFileSync(path.join(root, 'x'), 'file');
    fs.mkdirSync(path.join(root, 'y/deep'), { recursive: true });
    fs.writeFileSync(path.join(root, 'y/deep/f'), 'f');
    fs.symlinkSync('/', path.join(root, 'z'));
    await applyEntries([
      { header: { name: 'x/', type: 'directory', mode: 0o755 } },
      { header: { name: 'x/child', type: 'file' }, data: 'c' },
      { header: { name: 'y', type: 'file' }, data: 'now a file' },
      { header: { name: 'z/', type: 'directory', mode: 0o755 } },
    ]);
    assert.equal(fs.readFileSync(path.join(root, 'x/child'), 'utf8'), 'c');
    assert.equal(fs.readFileSync(path.join(root, 'y'), 'utf8'), 'now a file');
    assert.ok(fs.lstatSync(path.join(root, 'z')).isDirectory());
  });

  describe('a layer giving paths again, replacing and linking what it just wrote', () => {
    it('the last entry for a path wins, whatever was there before', async () => {
      fs.writeFileSync(path.join(root, 'lower-file'), 'lower');
      fs.mkdirSync(path.join(root, 'lower-dir/sub'), { recursive: true });
      fs.writeFileSync(path.join(root, 'lower-dir/sub/f'), 'f');
      fs.symlinkSync('../outside', path.join(root, 'lower-link'));
      fs.mkdirSync(path.join(root, 'kept'));
      await applyEntries([
        { header: { name: 'twice', type: 'file' }, data: 'first' },
        { header: { name: 'lower-file', type: 'file', mode: 0o600 }, data: 'upper' },
        { header: { name: 'lower-dir', type: 'file' }, data: 'was a directory' },
        { header: { name: 'lower-link', type: 'file' }, data: 'was a symlink' },
        { header: { name: 'kept/a', type: 'file' }, data: 'a' },
        { header: { name: 'twice', type: 'file' }, data: 'second' },
        { header: { name: 'kept/a', type: 'symlink', linkname: 'b' } },
        { header: { name: 'file-then-dir', type: 'file' }, data: 'x' },
        { header: { name: 'file-then-dir/', type: 'directory', mode: 0o755 } },
        { header: { name: 'file-then-dir/in', type: 'file' }, data: 'in' },
      ]).then((r) => assert.equal(r.byWriters, mode.fileWriters ? 6 : 0, 'by writers: all but the files over a directory or symlink'));
      const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');
      assert.equal(read('twice'), 'second');
      assert.equal(read('lower-file'), 'upper');
      assert.equal((fs.statSync(path.join(root, 'lower-file')).mode & 0o777).toString(8), '600');
      assert.equal(read('lower-dir'), 'was a directory');
      assert.ok(fs.lstatSync(path.join(root, 'lower-link')).isFile());
      assert.equal(read('lower-link'), 'was a symlink');
      assert.equal(fs.readlinkSync(path.join(root, 'kept/a')), 'b');
      assert.equal(read('file-then-dir/in'), 'in');
      assertOutsideUntouched();
    });

    it('a hardlink to a file the layer just wrote links that file', async () => {
      await applyEntries([
        { header: { name: 'bin/', type: 'directory', mode: 0o755 } },
        { header: { name: 'bin/tool', type: 'file', mode: 0o755 }, data: 'tool' },
        { header: { name: 'bin/alias', type: 'link', linkname: 'bin/tool' } },
      ]);
      const a = fs.statSync(path.join(root, 'bin/tool'));
      const b = fs.statSync(path.join(root, 'bin/alias'));
      assert.equal(a.ino, b.ino);
      assert.equal(a.nlink, 2);
      assert.equal(fs.readFileSync(path.join(root, 'bin/alias'), 'utf8'), 'tool');
    });

    it('a path under a file the layer wrote is refused as under a file, naming the entry', async () => {
      await assert.rejects(applyEntries([
        { header: { name: 'f', type: 'file' }, data: 'x' },
        { header: { name: 'f/child', type: 'file' }, data: 'y' },
      ]), (err: Error) => err instanceof UserError && /entry "f\/child".*"f" is not a directory/.test(err.message));
    });

    it('a file that cannot be created fails the extraction naming its entry', async () => {
      const long = 'n'.repeat(300);
      await assert.rejects(applyEntries([
        { header: { name: 'ok', type: 'file' }, data: 'fine' },
        { header: { name: `dir/${long}`, type: 'file' }, data: 'x' },
        { header: { name: 'after', type: 'file' }, data: 'z' },
      ]), (err: Error) => err instanceof UserError && err.message.includes(`entry "dir/${long}"`) && /cannot create file .*ENAMETOOLONG/.test(err.message));
    });
  });

  it('many files in many directories, with every kind of mode, owner and size, come out exact', async () => {
    const entries: TarSpec = [];
    const want = new Map<string, { data: Buffer; mode: number; uid: number; gid: number }>();
    for (let d = 0; d < 12; d++) {
      entries.push({ header: { name: `d${d}/`, type: 'directory', mode: 0o750 + (d % 2) * 5, mtime: T2 } });
      for (let i = 0; i < 60; i++) {
        const name = `d${d}/f${i}`;
        // mostly small; one bigger than what goes to a writer thread; setuid, other owners
        const size = i === 7 ? 300 * 1024 : (i * 37) % 3000;
        const data = Buffer.alloc(size, `${d}-${i}|`);
        const mode = i % 10 === 3 ? 0o4755 : i % 2 ? 0o644 : 0o600;
        const [uid, gid] = i % 15 === 4 ? [1000, 1001] : [0, 0];
        entries.push({ header: { name, type: 'file', mode, uid, gid, mtime: new Date(T.getTime() + i * 1000) }, data });
        want.set(name, { data, mode, uid, gid });
      }
    }
    const r = await applyEntries(entries);
    // all but the big ones, or none
    assert.equal(r.byWriters, mode.fileWriters ? 12 * 59 : 0);
    const asRoot = process.getuid!() === 0;
    for (const [name, w] of want) {
      const h = path.join(root, name);
      const st = fs.lstatSync(h);
      assert.ok(fs.readFileSync(h).equals(w.data), `${name} content`);
      assert.equal((st.mode & 0o7777).toString(8), w.mode.toString(8), `${name} mode`);
      if (asRoot) assert.deepEqual([st.uid, st.gid], [w.uid, w.gid], `${name} owner`);
      const i = Number(name.split('/f')[1]);
      assert.equal(st.mtimeMs, Math.floor(T.getTime() / 1000) * 1000 + i * 1000, `${name} mtime (whole seconds in a ustar header)`);
    }
    for (let d = 0; d < 12; d++) {
      const st = fs.statSync(path.join(root, `d${d}`));
      assert.equal(st.mtimeMs, T2.getTime(), `d${d} mtime is the entry's, set after its files`);
      assert.equal((st.mode & 0o777).toString(8), (0o750 + (d % 2) * 5).toString(8));
    }
  });

  describe('path safety', () => {
    it('rejects ".." that climbs out of the root, naming the entry', async () => {
      await assert.rejects(applyEntries([{ header: { name: '../outside/pwned', type: 'file' }, data: 'x' }]),
        (err: Error) => err instanceof UserError && /entry "..\/outside\/pwned".*climbs out of the root/.test(err.message));
      await assert.rejects(applyEntries([{ header: { name: 'a/../../outside/pwned', type: 'file' }, data: 'x' }]), /climbs out/);
      assertOutsideUntouched();
    });

    it('refuses a PAX path with a NUL in it, which other readers cut there, naming the entry', async () => {
      await assert.rejects(applyEntries([{ header: { name: 'plain', type: 'file', pax: { path: 'good\0../../evil' } }, data: 'x' }]),
        (err: Error) => err instanceof UserError && /entry "PaxHeader": its PAX path record holds a NUL byte \("good\\u0000..\/..\/evil"\)/.test(err.message));
      assert.deepEqual(fs.readdirSync(root), []);
      assert.equal(fs.existsSync(path.join(base, 'evil')), false);
    });

    it('takes ".." that stays inside lexically', async () => {
      await applyEntries([{ header: { name: 'a/b/../c', type: 'file' }, data: 'x' }]);
      assert.ok(rootHas('a/c'));
    });

    it('treats absolute names as relative to the root', async () => {
      await applyEntries([{ header: { name: path.join(outside, 'pwned'), type: 'file' }, data: 'x' }]);
      assert.equal(fs.readFileSync(path.join(root, outside, 'pwned'), 'utf8'), 'x');
      assertOutsideUntouched();
    });

    it('resolves a symlinked parent from an earlier layer inside the root (absolute and relative)', async () => {
      await applyEntries([
        { header: { name: 'evil', type: 'symlink', linkname: outside } },
        { header: { name: 'evil2', type: 'symlink', linkname: '../../../../../../outside' } },
      ]);
      await applyEntries([
        { header: { name: 'evil/passwd', type: 'file' }, data: 'p' },
        { header: { name: 'evil2/passwd', type: 'file' }, data: 'p2' },
      ]);
      assertOutsideUntouched();
      assert.equal(fs.readFileSync(path.join(root, outside, 'passwd'), 'utf8'), 'p');
      assert.equal(fs.readFileSync(path.join(root, 'outside/passwd'), 'utf8'), 'p2');
    });

    it('contains a symlink and a file through it in the same layer', async () => {
      await applyEntries([
        { header: { name: 'link', type: 'symlink', linkname: outside } },
        { header: { name: 'link/secret', type: 'file' }, data: 'overwritten?' },
      ]);
      assertOutsideUntouched();
      assert.equal(fs.readFileSync(path.join(root, outside, 'secret'), 'utf8'), 'overwritten?');
    });

    it('replaces a symlink at the final component instead of writing through it', async () => {
      fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'f'));
      fs.symlinkSync(outside, path.join(root, 'd'));
      const outsideMode = fs.statSync(outside).mode;
      await applyEntries([
        { header: { name: 'f', type: 'file', mode: 0o777 }, data: 'mine' },
        { header: { name: 'd/', type: 'directory', mode: 0o700 } },
      ]);
      assertOutsideUntouched();
      assert.ok(fs.lstatSync(path.join(root, 'f')).isFile());
      assert.ok(fs.lstatSync(path.join(root, 'd')).isDirectory());
      assert.equal(fs.statSync(outside).mode, outsideMode, 'the directory entry did not chmod through the old symlink');
    });

    it('a directory replaced by a symlink takes the metadata and attributes deferred under it along (none reach the host)', async () => {
      const setfattr = which('setfattr');
      const getfattr = which('getfattr');
      assert.ok(setfattr && getfattr, 'setfattr and getfattr (package attr) are installed by test/support/install-deps.sh');
      fs.mkdirSync(path.join(outside, 'sub'), { mode: 0o755 });
      fs.chmodSync(path.join(outside, 'sub'), 0o755);
      const before = fs.statSync(path.join(outside, 'sub'));
      await applyEntries([
        { header: { name: 'd/', type: 'directory' } },
        { header: { name: 'd/sub/', type: 'directory', mode: 0o4777, mtime: new Date(12345000) } },
        { header: { name: 'd/secret', type: 'file', pax: { 'SCHILY.xattr.user.pwn': 'owned' } }, data: 'x' },
        { header: { name: 'd', type: 'symlink', linkname: outside } },
      ], { setfattr });
      const after = fs.statSync(path.join(outside, 'sub'));
      assert.equal(after.mode, before.mode, 'no chmod through the symlink');
      assert.equal(after.mtimeMs, before.mtimeMs, 'no utimes through the symlink');
      assert.equal(spawnSync(getfattr, ['-d', path.join(outside, 'secret')], { encoding: 'utf8' }).stdout, '', 'no xattr through the symlink');
      assert.deepEqual(fs.readdirSync(outside).sort(), ['secret', 'sub']);
      assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'untouched');
      assert.equal(fs.readlinkSync(path.join(root, 'd')), outside);
    });

    it('rejects hardlinks to anything outside the root', async () => {
      fs.symlinkSync(outside, path.join(root, 'evil'));
      const attempts: Array<[string, RegExp]> = [
        ['../outside/secret', /climbs out of the root/],
        [path.join(outside, 'secret'), /does not exist in the root/],
        ['evil/secret', /does not exist in the root/],
      ];
      for (const [linkname, re] of attempts) {
        await assert.rejects(applyEntries([{ header: { name: 'hl', type: 'link', linkname } }]),
          (err: Error) => err instanceof UserError && /entry "hl"/.test(err.message) && re.test(err.message), linkname);
      }
      assertOutsideUntouched();
    });

    it('never deletes outside the root through whiteouts or opaque markers', async () => {
      fs.symlinkSync(outside, path.join(root, 'evil'));
      await applyEntries([
        { header: { name: 'evil/.wh.secret', type: 'file' } },
        { header: { name: 'evil/.wh..wh..opq', type: 'file' } },
      ]);
      assertOutsideUntouched();
      await assert.rejects(applyEntries([{ header: { name: 'x/.wh...', type: 'file' } }]), /invalid path component/);
      await assert.rejects(applyEntries([{ header: { name: '../.wh.outside', type: 'file' } }]), /climbs out/);
      assertOutsideUntouched();
    });

    it('stops on symlink loops', async () => {
      fs.symlinkSync('b', path.join(root, 'a'));
      fs.symlinkSync('a', path.join(root, 'b'));
      await assert.rejects(applyEntries([{ header: { name: 'a/file', type: 'file' }, data: 'x' }]), /too many levels of symbolic links/);
    });

    it('leaves ignored paths alone', async () => {
      fs.mkdirSync(path.join(root, 'workspace'));
      fs.writeFileSync(path.join(root, 'workspace/keep'), 'k');
      await applyEntries([
        { header: { name: '.wh.workspace', type: 'file' } },
        { header: { name: 'workspace/new', type: 'file' }, data: 'n' },
        { header: { name: 'other', type: 'file' }, data: 'o' },
      ], { ignore: new IgnoreList([path.join(root, 'workspace')]) });
      assert.deepEqual(fs.readdirSync(path.join(root, 'workspace')), ['keep']);
      assert.ok(rootHas('other'));
    });
  });

  it('creates device nodes where permitted and skips them otherwise', async () => {
    await applyEntries([{ header: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } }]);
    const p = path.join(root, 'dev/null');
    if (fs.existsSync(p)) {
      const st = fs.lstatSync(p);
      assert.ok(st.isCharacterDevice());
      assert.equal(st.rdev, (1 << 8) | 3);
      assert.equal(st.mode & 0o777, 0o666);
    }
  });

  it('gets every mode and owner exact, also where it spares the chown and chmod', async () => {
    const asRoot = process.getuid!() === 0;
    // a directory from an earlier layer with setgid: files made in it inherit its group
    fs.mkdirSync(path.join(root, 'sg'));
    if (asRoot) fs.chownSync(path.join(root, 'sg'), 0, 4242);
    fs.chmodSync(path.join(root, 'sg'), 0o2775);
    const file = (name: string, mode: number, uid = 0, gid = 0) => ({ header: { name, type: 'file' as const, mode, uid, gid }, data: name });
    await applyEntries([
      { header: { name: 'new', type: 'directory', mode: 0o755 } },
      file('new/plain', 0o644), file('new/private', 0o600), file('new/exec', 0o755),
      file('new/group-writable', 0o666), file('new/setuid', 0o4755), file('new/other-owner', 0o640, 1000, 1001),
      file('sg/in-setgid-dir', 0o644), file('implicit/parent/f', 0o644),
      { header: { name: 'sg/dir', type: 'directory', mode: 0o755, uid: 0, gid: 0 } },
      { header: { name: 'new/theirs', type: 'directory', mode: 0o750, uid: 1000, gid: 1001 } },
      file('new/theirs/ours', 0o644),
      { header: { name: 'new/link', type: 'symlink', linkname: 'plain', uid: 0, gid: 0 } },
      { header: { name: 'new/their-link', type: 'symlink', linkname: 'plain', uid: 1000, gid: 1001 } },
      { header: { name: 'sg/link', type: 'symlink', linkname: 'dir', uid: 0, gid: 0 } },
    ]);
    const want: Record<string, [number, number, number]> = {
      'new/plain': [0o644, 0, 0], 'new/private': [0o600, 0, 0], 'new/exec': [0o755, 0, 0],
      'new/group-writable': [0o666, 0, 0], 'new/setuid': [0o4755, 0, 0], 'new/other-owner': [0o640, 1000, 1001],
      'sg/in-setgid-dir': [0o644, 0, 0], 'implicit/parent/f': [0o644, 0, 0],
      'sg/dir': [0o755, 0, 0], 'new/theirs': [0o750, 1000, 1001], 'new/theirs/ours': [0o644, 0, 0],
    };
    const links: Record<string, [number, number]> = { 'new/link': [0, 0], 'new/their-link': [1000, 1001], 'sg/link': [0, 0] };
    for (const [p, owner] of Object.entries(links)) {
      const st = fs.lstatSync(path.join(root, p));
      assert.ok(st.isSymbolicLink(), p);
      if (asRoot) assert.deepEqual([st.uid, st.gid], owner, `${p} owner`);
    }
    for (const [p, [mode, uid, gid]] of Object.entries(want)) {
      const st = fs.statSync(path.join(root, p));
      assert.equal((st.mode & 0o7777).toString(8), mode.toString(8), `${p} mode`);
      if (st.isFile()) assert.equal(fs.readFileSync(path.join(root, p), 'utf8'), p);
      if (asRoot) assert.deepEqual([st.uid, st.gid], [uid, gid], `${p} owner`);
    }
  });

  it('gets modes exact whatever the umask, read at each extraction (not once per process)', async () => {
    const file = (name: string, mode: number) => ({ header: { name, type: 'file' as const, mode }, data: name });
    const old = process.umask(0o022);
    try {
      await applyEntries([file('a-644', 0o644), file('a-664', 0o664)]);
      process.umask(0o077);
      await applyEntries([file('b-644', 0o644), file('b-755', 0o755), { header: { name: 'b-dir', type: 'directory', mode: 0o755 } }, file('b-dir/f', 0o640)]);
    } finally {
      process.umask(old);
    }
    const modes = Object.fromEntries(['a-644', 'a-664', 'b-644', 'b-755', 'b-dir', 'b-dir/f'].map((p) => [p, (fs.statSync(path.join(root, p)).mode & 0o7777).toString(8)]));
    assert.deepEqual(modes, { 'a-644': '644', 'a-664': '664', 'b-644': '644', 'b-755': '755', 'b-dir': '755', 'b-dir/f': '640' });
  });

  it('does not chown when ownership is not preserved', async () => {
    await applyEntries([{ header: { name: 'f', type: 'file', uid: 4321, gid: 4321 }, data: 'x' }], { preserveOwnership: false });
    assert.equal(fs.statSync(path.join(root, 'f')).uid, process.getuid!());
  });

  it('unpacks a zstd layer: with Node\'s own zstd where it has one, else with the zstd program', async () => {
    const zstd = which('zstd');
    assert.ok(zstd, 'zstd is installed by test/support/install-deps.sh');
    const tarBytes = await makeTar([{ header: { name: 'd', type: 'directory' } }, { header: { name: 'd/f.txt' }, data: 'zstd layer\n'.repeat(1000) }]);
    const compressed = spawnSync(zstd, ['-q', '-c'], { input: tarBytes }).stdout;
    assert.equal(compressed.readUInt32LE(0), 0xfd2fb528);
    await apply(compressed, { zstd });
    assert.equal(fs.readFileSync(path.join(root, 'd/f.txt'), 'utf8'), 'zstd layer\n'.repeat(1000));
    const native = typeof (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
    if (native) assert.equal((await apply(compressed)).files, 2, 'Node decompresses it itself');
    else await assert.rejects(apply(compressed), /zstd-compressed: Node v[\d.]+ cannot decompress it .*install zstd/);
    // cut short: the program's failure fails the layer, even where the tar read so far looks whole
    const cut = compressed.subarray(0, compressed.length - 8);
    await assert.rejects(apply(cut, { zstd }), native ? /./ : /zstd -d failed/);
  });

  it('reports zstd and corrupt input clearly', async () => {
    await assert.rejects(apply(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])), /zstd/);
    await assert.rejects(apply(Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 7)])), (err: Error) => err instanceof UserError && /cannot extract layer/.test(err.message));
  });

  it('refuses an input that ended before it was read, instead of waiting for ever', async () => {
    const ended = Readable.from([Buffer.from('lost')]);
    ended.resume();
    await new Promise((r) => ended.once('end', r));
    await assert.rejects(apply0(ended), /had already ended or closed before it was read/);
  });

  it('accepts an empty stream', async () => {
    assert.deepEqual(await apply(Buffer.alloc(0)), { files: 0, xattrPaths: 0, byWriters: 0 });
  });
});
