import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreList } from '../../../src/fs/ignore';
import { writeLayer } from '../../../src/fs/layer-writer';
import { deviceNumbers, entriesFromDir, walkDir } from '../../../src/fs/walk';
import { run, tmpDir } from '../../support/testbed';

describe('fs/walk', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('drydock-walk-');
    for (const d of ['src/a', 'src/a-b', 'src/node_modules/x', 'src/empty', 'src/keep/deep']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src/a/f'), 'f');
    fs.writeFileSync(path.join(dir, 'src/a-b/g'), 'g');
    fs.writeFileSync(path.join(dir, 'src/node_modules/x/i.js'), 'i');
    fs.writeFileSync(path.join(dir, 'src/keep/deep/k'), 'k');
    fs.writeFileSync(path.join(dir, 'src/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.symlinkSync('/etc', path.join(dir, 'src/etc-link'));
    fs.linkSync(path.join(dir, 'src/a/f'), path.join(dir, 'src/f-hard'));
  });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('lists every entry with lstat info, sorted with subtrees together, symlinks not followed', async () => {
    const w = await walkDir(path.join(dir, 'src'), { concurrency: 3 });
    assert.deepEqual(w.map((x) => x.relPath), [
      'a', 'a/f', 'a-b', 'a-b/g', 'empty', 'etc-link', 'f-hard', 'keep', 'keep/deep', 'keep/deep/k',
      'node_modules', 'node_modules/x', 'node_modules/x/i.js', 'run.sh',
    ]);
    const link = w.find((x) => x.relPath === 'etc-link')!;
    assert.ok(link.stats.isSymbolicLink());
    assert.equal(link.absPath, path.join(dir, 'src/etc-link'));
  });

  it('applies filter verdicts and the ignore list before stat', async () => {
    const asked: string[] = [];
    const w = await walkDir(path.join(dir, 'src'), {
      ignore: new IgnoreList([path.join(dir, 'src/a-b')]),
      filter: (rel, isDir) => {
        asked.push(rel);
        if (rel === 'node_modules') return 'skip-dir';
        if (rel === 'keep' || rel === 'keep/deep') return 'exclude'; // excluded dirs are still walked
        if (rel === 'run.sh') return 'exclude';
        assert.equal(isDir, rel === 'a' || rel === 'empty');
        return 'include';
      },
    });
    assert.deepEqual(w.map((x) => x.relPath), ['a', 'a/f', 'empty', 'etc-link', 'f-hard', 'keep/deep/k']);
    assert.ok(!asked.some((r) => r.startsWith('node_modules/') || r.startsWith('a-b')));
  });

  it('says once, as soon as it has found the given number of entries, that the tree is big', async () => {
    const seen: number[] = [];
    let calls = 0;
    const w = await walkDir(path.join(dir, 'src'), { onManyEntries: { count: 3, call: () => { calls++; } }, filter: (r) => { seen.push(calls); return r.startsWith('node_modules') ? 'skip-dir' : 'include'; } });
    assert.equal(calls, 1);
    assert.ok(seen.filter((c) => c === 0).length >= 3 && seen.at(-1) === 1, 'called during the walk, not after it');
    assert.ok(w.length > 3);
    let never = 0;
    const all = await walkDir(path.join(dir, 'src'));
    await walkDir(path.join(dir, 'src'), { onManyEntries: { count: all.length + 1, call: () => { never++; } } });
    assert.equal(never, 0);
  });

  it('reports an unreadable root clearly', async () => {
    await assert.rejects(walkDir(path.join(dir, 'missing')), /cannot read directory .*missing/);
  });

  it('makes COPY entries with chown/chmod overrides, symlinks kept, hardlinks detected by the writer', async () => {
    const entries = await entriesFromDir(path.join(dir, 'src'), '/app/', { uid: 1000, gid: 1000, chmod: (mode, isDir) => (isDir ? 0o750 : 0o640) });
    const by = new Map(entries.map((x) => [x.path, x]));
    assert.equal(by.get('app')!.type, 'dir');
    assert.equal(by.get('app')!.mode, 0o750);
    assert.equal(by.get('app/a/f')!.mode, 0o640);
    assert.equal(by.get('app/a/f')!.uid, 1000);
    assert.equal(by.get('app/etc-link')!.type, 'symlink');
    assert.equal(by.get('app/etc-link')!.linkname, '/etc');
    assert.equal(by.get('app/etc-link')!.mode, 0o777);
    const out = path.join(dir, 'l.tar');
    await writeLayer(entries, out, { compression: 'none', reproducible: true });
    const listing = run('tar', ['--numeric-owner', '-tvf', out]);
    assert.match(listing, /^hrw-r----- 1000\/1000 .* app\/f-hard link to app\/a\/f$/m);
    assert.match(listing, /^lrwxrwxrwx .* app\/etc-link -> \/etc$/m);
    assert.match(listing, /^drwxr-x--- 1000\/1000 .* app\/empty\/$/m);
  });

  it('keeps host modes and owners without overrides, and copies a single file', async () => {
    const entries = await entriesFromDir(path.join(dir, 'src'), 'app', { includeRoot: false });
    assert.ok(!entries.some((x) => x.path === 'app'));
    assert.equal(entries.find((x) => x.path === 'app/run.sh')!.mode, 0o755);
    const one = await entriesFromDir(path.join(dir, 'src/run.sh'), 'usr/local/bin/run');
    assert.deepEqual(one.map((x) => [x.path, x.type, x.source]), [['usr/local/bin/run', 'file', path.join(dir, 'src/run.sh')]]);
  });

  it('decodes Linux device numbers', () => {
    assert.deepEqual(deviceNumbers(fs.statSync('/dev/null').rdev), { major: 1, minor: 3 });
    assert.deepEqual(deviceNumbers(0x10301), { major: 259, minor: 1 });
    assert.deepEqual(deviceNumbers(0x12300045), { major: 0, minor: 0x12345 });
    assert.deepEqual(deviceNumbers(0x1000 * 2 ** 32 + 0x100), { major: 0x1001, minor: 0 });
  });
});
