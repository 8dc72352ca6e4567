import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreList } from '../../../../src/fs';
import { parallelWalk, walkersAvailable } from '../../../../src/build/snapshot/parallel-walk';
import { availableParallelism } from 'node:os';
import { recordOf, type StatRecord } from '../../../../src/build/snapshot/stat-record';
import { walkTree } from '../../../../src/build/snapshot/tree-walk';
import { tmpDir } from '../../../support/testbed';

describe('build/snapshot parallelWalk', () => {
  const skip = new IgnoreList(['/big/d3/skipped', '/etc/resolv.conf']);
  const sequential = async (root: string) => {
    const m = new Map<string, StatRecord>();
    await walkTree(root, '', skip, (rel, st) => m.set(rel, recordOf(st)), { lstat: 0, readdir: 0 });
    return m;
  };
  const sorted = (m: Map<string, StatRecord>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  it('walks on the cores, up to 4, or on as many threads as DRYDOCK_SNAPSHOT_WALKERS says', () => {
    assert.equal(walkersAvailable({}), Math.min(availableParallelism(), 4));
    assert.equal(walkersAvailable({ DRYDOCK_SNAPSHOT_WALKERS: '1' }), 1);
    assert.equal(walkersAvailable({ DRYDOCK_SNAPSHOT_WALKERS: '3' }), 3);
    assert.equal(walkersAvailable({ DRYDOCK_SNAPSHOT_WALKERS: 'many' }), Math.min(availableParallelism(), 4));
  });

  it('sees what one thread sees, and splits a directory that held more than its share', async () => {
    const root = tmpDir('drydock-pwalk-');
    const w = (rel: string) => {
      fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), rel);
    };
    for (let d = 0; d < 6; d++) for (let f = 0; f < 600; f++) w(`big/d${d}/f${f}`); // 3,600 below big/
    for (let f = 0; f < 40; f++) w(`big/d3/skipped/f${f}`);
    for (const rel of ['etc/resolv.conf', 'etc/hosts', 'top.txt', 'small/a', 'small/deep/er/b']) w(rel);
    fs.mkdirSync(path.join(root, 'empty'));
    fs.symlinkSync('big', path.join(root, 'link-to-big'));
    const split = { unitSizes: new Map<string, number>(), splitDirs: new Set<string>() };
    const counters = { lstat: 0, readdir: 0 };
    const first = await parallelWalk(root, skip, counters, { parallel: 2, ...split });
    assert.deepEqual(sorted(first), sorted(await sequential(root)));
    assert.equal(counters.lstat, first.size, 'one lstat per path, wherever it was done');
    assert.ok(!first.has('big/d3/skipped') && !first.has('etc/resolv.conf'), 'the skip list holds in the workers too');
    assert.ok(split.splitDirs.has('big'), `big/ held most paths, so its subdirectories are handed out next time: ${[...split.splitDirs]}`);
    // the next walks: split, and after changes
    fs.rmSync(path.join(root, 'big/d5'), { recursive: true });
    w('big/d6/new');
    w('small/c');
    const second = await parallelWalk(root, skip, { lstat: 0, readdir: 0 }, { parallel: 2, ...split });
    assert.deepEqual(sorted(second), sorted(await sequential(root)));
    assert.ok(split.unitSizes.has('big/d0'), 'units are the subdirectories of big/ now');
  });
});
