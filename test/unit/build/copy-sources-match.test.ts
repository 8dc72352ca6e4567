import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { matchComponent, planCopy } from '../../../src/build/copy-sources';
import { UserError } from '../../../src/log';
import { tmpDir } from '../../support/testbed';
describe('copy-sources: Go filepath.Match errors and single wildcard matches', () => {
  it('[!a] is not negation in Go', () => {
    assert.equal(matchComponent('[!a]', 'a'), true);
    assert.equal(matchComponent('[!a]', 'b'), false);
  });
  it('[\\]a] matches ]', () => { assert.equal(matchComponent('[\\]a]', ']'), true); });
  for (const bad of ['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]']) {
    it(`bad pattern ${bad}`, () => { assert.throws(() => matchComponent(bad, 'a'), UserError); });
  }
  it('single wildcard match to a non-dir dest is a file', async () => {
    const ctx = tmpDir();
    fs.writeFileSync(path.join(ctx, 'only.txt'), 'x');
    const es = await planCopy({ root: ctx, rootName: 'ctx', sources: ['*.txt'], dest: '/dest', destIsDir: false, destExistsAsDir: false, uid: 0, gid: 0, where: 'w' });
    assert.deepEqual(es.map((e) => e.path), ['dest']);
  });
});
