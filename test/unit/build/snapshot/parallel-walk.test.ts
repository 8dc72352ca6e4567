import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreList } from '../../../../src/fs';
import { parallelWalk, planUnits, walkersAvailable, walkUnits } from '../../../../src/build/snapshot/parallel-walk';
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

  it('walks on a worker per core (up to 4) and this thread, or on as many threads as DRYDOCK_SNAPSHOT_WALKERS says', () => {
    const cores = availableParallelism();
    assert.equal(walkersAvailable({}), cores > 1 ? Math.min(cores, 4) + 1 : 1);
    assert.equal(walkersAvailable({ DRYDOCK_SNAPSHOT_WALKERS: '1' }), 1);
    assert.equal(walkersAvailable({ DRYDOCK_SNAPSHOT_WALKERS: '3' }), 3);
    assert.equal(walkersAvailable({ DRYDOCK_SNAPSHOT_WALKERS: 'many' }), walkersAvailable({}));
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

  it('plans the first parallel walk from a one-thread walk\'s paths: big directories split, the rest units by size', () => {
    const paths: string[] = ['etc', 'etc/hosts', 'app', 'app/node_modules', 'small', 'small/x'];
    for (let p = 0; p < 40; p++) {
      paths.push(`app/node_modules/p${p}`);
      for (let f = 0; f < 100; f++) paths.push(`app/node_modules/p${p}/f${f}`);
    }
    const plan = { unitSizes: new Map<string, number>(), splitDirs: new Set<string>() };
    planUnits(paths, paths.length, 2, plan);
    // app/ and app/node_modules/ hold nearly everything: their packages are the units
    assert.deepEqual([...plan.splitDirs].sort(), ['app', 'app/node_modules']);
    assert.equal(plan.unitSizes.get('app/node_modules/p0'), 100);
    assert.equal(plan.unitSizes.get('small'), 1);
    assert.equal(plan.unitSizes.has('small/x'), false, 'nothing inside a unit');
  });

  it('a walk stopped after a budget is completed by walking what it left', async () => {
    const root = tmpDir('drydock-pwalk-');
    for (let d = 0; d < 5; d++) for (let f = 0; f < 30; f++) {
      fs.mkdirSync(path.join(root, `a/d${d}/sub`), { recursive: true });
      fs.writeFileSync(path.join(root, `a/d${d}/sub/f${f}`), 'x');
    }
    const state = new Map<string, StatRecord>();
    const rest: string[] = [];
    const counters = { lstat: 0, readdir: 0 };
    await walkTree(root, '', skip, (rel, st) => state.set(rel, recordOf(st)), counters, { budget: 10, rest });
    assert.ok(rest.length > 0 && state.size < 100, `stopped early (${state.size} seen, ${rest.length} left)`);
    await walkUnits(root, skip, counters, state, rest, 2);
    assert.deepEqual(sorted(state), sorted(await sequential(root)));
    assert.equal(counters.lstat, state.size);
  });
});
