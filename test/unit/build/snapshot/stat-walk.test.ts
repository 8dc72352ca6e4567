import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeEntries, w, writeCommonTree } from './describe-entries';
import { StatWalkSnapshotter } from '../../../../src/build/snapshot';
import { diffStates } from '../../../../src/build/snapshot/stat-walk';
import type { StatRecord } from '../../../../src/build/snapshot/stat-record';
import { tmpDir } from '../../../support/testbed';

/** A root with some content, dirs pinned to an old mtime so that changes show. */
function makeRoot(): string {
  const root = tmpDir('drydock-snap-');
  writeCommonTree(root);
  w(root, 'proc-like/ignored/x');
  fs.symlinkSync('/etc/passwd', path.join(root, 'link'));
  return root;
}

// each test three times: walked by this thread; by worker threads from the first walk on; and with
// a first walk that goes on in workers once it has seen a few paths (a big root's first walk,
// whose workers boot ahead as the stage says how many entries it unpacked)
const modes = [
  { name: 'one thread', opts: {} },
  { name: 'worker threads', opts: { walkers: 2, parallelMinPaths: 0 } },
  { name: 'worker threads after a few paths', opts: { walkers: 2, parallelMinPaths: 3, sizeHint: () => 1000 } },
];
for (const mode of modes) describe(`build/snapshot StatWalkSnapshotter (${mode.name})`, () => {
  it('reports additions, changes, deletions (one whiteout per subtree) and replaced directories (opaque)', async () => {
    const root = makeRoot();
    const s = new StatWalkSnapshotter({ ...mode.opts, root, ignore: ['/proc-like'], transient: () => ['/etc/resolv.conf'] });
    await s.begin();
    const old = new Date('2001-01-01T00:00:00Z');
    for (const d of ['etc', 'keep', '']) fs.utimesSync(path.join(root, d), old, old);
    s.invalidate();
    await s.begin();

    const uni = 'ünïcødé-名前-🐳';
    const long = 'l'.repeat(200) + '/' + 'm'.repeat(120);
    w(root, `new/${uni}.txt`, 'u');
    w(root, `${long}/file`, 'long');
    fs.writeFileSync(path.join(root, 'modify.txt'), 'after!');
    fs.chmodSync(path.join(root, 'chmod.sh'), 0o4755);
    fs.rmSync(path.join(root, 'gone'), { recursive: true });
    // the new directory exists before the old one goes, so it cannot get the old inode number back
    // (with a reused inode the result is a whiteout per old child instead: the same tree)
    w(root, 'replaced.tmp/new1');
    fs.rmSync(path.join(root, 'replaced'), { recursive: true });
    fs.renameSync(path.join(root, 'replaced.tmp'), path.join(root, 'replaced'));
    fs.unlinkSync(path.join(root, 'link'));
    fs.symlinkSync('dangling/target', path.join(root, 'link'));
    fs.symlinkSync('/abs/elsewhere', path.join(root, 'new/abs-link'));
    fs.linkSync(path.join(root, 'keep/a.txt'), path.join(root, 'new/hard.txt'));
    w(root, 'proc-like/ignored/y');
    w(root, 'etc/resolv.conf', 'nameserver 1.1.1.1\n');
    fs.mkdirSync(path.join(root, 'emptydir'));

    const entries = await s.finish();
    const got = describeEntries(entries);
    assert.deepEqual(got, [
      'file chmod.sh 4755',
      'dir emptydir 755',
      'dir etc 755', // resolv.conf itself is transient, but writing it moved /etc's mtime (the isolation puts that back)
      'whiteout gone',
      'file keep/a.txt 644', // its link count changed
      'symlink link -> dangling/target',
      `dir ${'l'.repeat(200)} 755`,
      `dir ${long} 755`,
      `file ${long}/file 644`,
      'file modify.txt 644',
      'dir new 755',
      'symlink new/abs-link -> /abs/elsewhere',
      'hardlink new/hard.txt -> keep/a.txt',
      `file new/${uni}.txt 644`,
      'opaque replaced',
      'dir replaced 755',
      'file replaced/new1 644',
    ]);
    const mod = entries.find((e) => e.path === 'modify.txt')!;
    assert.equal(mod.source, path.join(root, 'modify.txt'));
    assert.equal(mod.size, 6);
  });

  it('diffStates: a path below a replaced directory is part of it even when its own record is unchanged', async () => {
    // (a hard link kept across the replacement can look unchanged; only changed paths are sorted)
    const root = tmpDir('drydock-snap-');
    w(root, 'd/f', 'same');
    w(root, 'other', 'x');
    const rec = (kind: number, ino: number): StatRecord => [kind, ino, 4, 0o644, 0, 0, 1000, 1000, 1];
    const before = new Map<string, StatRecord>([['d', rec(1, 10)], ['d/f', rec(0, 11)], ['other', rec(0, 12)]]);
    const after = new Map<string, StatRecord>([['d', rec(1, 20)], ['d/f', rec(0, 11)], ['other', rec(0, 12)]]);
    const entries = await diffStates(root, before, after);
    assert.deepEqual(entries.map((e) => `${e.type} ${e.path}`), ['opaque d', 'dir d', 'file d/f']);
  });

  it('begin() after finish() walks nothing, and an unchanged step yields no entries', async () => {
    const root = makeRoot();
    const s = new StatWalkSnapshotter({ ...mode.opts, root });
    await s.begin();
    assert.deepEqual(await s.finish(), []);
    const c = { ...s.counters };
    await s.begin();
    assert.deepEqual(s.counters, c, 'second begin() did no lstat/readdir');
  });

  it('reports a directory whose metadata changed, a type change and a deleted file as a whiteout', async () => {
    const root = makeRoot();
    const s = new StatWalkSnapshotter({ ...mode.opts, root });
    await s.begin();
    fs.chmodSync(path.join(root, 'keep'), 0o700);
    fs.rmSync(path.join(root, 'gone'), { recursive: true });
    w(root, 'gone', 'now a file');
    fs.unlinkSync(path.join(root, 'modify.txt'));
    fs.mkdirSync(path.join(root, 'modify.txt'));
    fs.unlinkSync(path.join(root, 'etc/passwd'));
    const got = describeEntries(await s.finish()).filter((l) => !l.startsWith('dir  ') && l !== 'dir etc 755');
    assert.deepEqual(got, ['whiteout etc/passwd', 'whiteout gone', 'file gone 644', 'dir keep 700', 'dir modify.txt 755']);
  });

  it('addKnownChanges keeps the state without a walk', async () => {
    const root = makeRoot();
    const s = new StatWalkSnapshotter({ ...mode.opts, root });
    await s.begin();
    await s.finish();
    w(root, 'copied/dir/f1');
    w(root, 'keep/a.txt', 'overwritten by COPY');
    fs.rmSync(path.join(root, 'gone'), { recursive: true });
    await s.addKnownChanges(['/copied', 'keep/a.txt', '/gone']);
    await s.begin();
    w(root, 'run-made');
    assert.deepEqual(describeEntries(await s.finish()).filter((l) => !l.startsWith('dir ')), ['file run-made 644']);
  });
});
