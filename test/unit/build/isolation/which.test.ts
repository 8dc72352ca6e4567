// which(): the host programs the runners exec, found on the executor's own PATH.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { which } from '../../../../src/build/isolation/host-tools';
import { tmpDir } from '../../../support/testbed';

describe('build/isolation which', () => {
  it('finds the first executable regular file of that name on the path, skipping directories and non-executables', () => {
    const base = tmpDir('drydock-which-');
    const [a, b, c] = ['a', 'b', 'c'].map((d) => { fs.mkdirSync(path.join(base, d)); return path.join(base, d); });
    fs.mkdirSync(path.join(a, 'tool')); // a directory of that name
    fs.writeFileSync(path.join(b, 'tool'), '#!/bin/sh\n', { mode: 0o644 }); // not executable
    fs.writeFileSync(path.join(c, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    fs.symlinkSync(path.join(c, 'tool'), path.join(b, 'linked'));
    assert.equal(which('tool', [a, '', b, c].join(':')), path.join(c, 'tool'));
    assert.equal(which('linked', [a, b].join(':')), path.join(b, 'linked'), 'a symlink to an executable counts');
    assert.equal(which('drydock-no-such-program', [a, b, c].join(':')), undefined);
    fs.rmSync(base, { recursive: true, force: true });
  });
});
