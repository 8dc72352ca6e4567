import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreList } from '../../../../src/fs';
import { walkTree } from '../../../../src/build/snapshot/tree-walk';
import { tmpDir } from '../../../support/testbed';

describe('build/snapshot/tree-walk', () => {
  const seen = async (root: string, start: string, skip: string[]) => {
    const out: string[] = [];
    await walkTree(root, start, new IgnoreList(skip), (rel) => out.push(rel), { lstat: 0, readdir: 0 });
    return out.sort();
  };

  it('skips listed paths at any depth, and what lies below them, and nothing else', async () => {
    const root = tmpDir();
    for (const f of ['a/b/c/x', 'a/b/cc/y', 'a/bb/z', 'etc/hosts', 'etc/hostsfile', 'top']) {
      fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), f);
    }
    assert.deepEqual(await seen(root, '', ['/a/b/c', '/etc/hosts']), ['a', 'a/b', 'a/b/cc', 'a/b/cc/y', 'a/bb', 'a/bb/z', 'etc', 'etc/hostsfile', 'top']);
    assert.deepEqual(await seen(root, 'a/b', ['/a/b/c']), ['a/b/cc', 'a/b/cc/y']);
    assert.deepEqual(await seen(root, 'a/b/c', ['/a/b']), [], 'a start below a listed path visits nothing');
    assert.deepEqual(await seen(root, '', ['/']), [], 'everything listed');
  });
});
