// --chmod's symbolic modes against GNU chmod itself (umask 0, as BuildKit applies them), on real
// files and directories, for a table of specs and starting modes.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseModeChange } from '../../../src/fs/mode-change';
import { tmpDir } from '../../support/testbed';

describe('fs/mode-change (COPY --chmod)', () => {
  it('takes octal modes as they are', () => {
    assert.equal(parseModeChange('755')!(0o600, false), 0o755);
    assert.equal(parseModeChange('4750')!(0o644, true), 0o4750);
  });

  it('refuses what is neither octal nor chmod(1) symbolic', () => {
    for (const bad of ['', '888', '0o755', 'u+q', 'x+r', 'u+x,', 'u', 'rwxr-xr-x', 'u+x;rm', '12345']) assert.equal(parseModeChange(bad), undefined, bad);
  });

  it('applies symbolic modes as GNU chmod does (umask 0), to files and directories', () => {
    const specs = ['+x', 'u+x', 'a+x', 'go-w', 'u=rwx,go=rx', 'a=r', 'o=', 'a+X', 'u+X', 'g=u', 'o=g', 'u-w,g+w', '+r-x', 'a-rwx,u+rw', 'ug+s', 'u+s,g-s', '+t', 'a=rX', 'u=rw,go=r', '=rw'];
    const starts = [0o644, 0o755, 0o600, 0o700, 0o640, 0o751, 0o000];
    const dir = tmpDir('drydock-chmod-');
    const f = path.join(dir, 'f');
    const d = path.join(dir, 'd');
    fs.writeFileSync(f, '');
    fs.mkdirSync(d);
    // one shell runs every case: chmod to the start mode (five digits: GNU chmod keeps a directory's
    // set-id bits for shorter numeric modes), then GNU chmod SPEC, then print the mode
    const cases = specs.flatMap((spec) => starts.flatMap((start) => [[spec, start, f, false], [spec, start, d, true]] as const));
    const script = ['umask 0', ...cases.map(([spec, start, p]) => `chmod 0${start.toString(8).padStart(4, '0')} '${p}' && chmod -- '${spec}' '${p}' && stat -c %a '${p}'`)].join('\n');
    const got = execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(got.length, cases.length);
    cases.forEach(([spec, start, , isDir], i) => {
      const change = parseModeChange(spec);
      assert.ok(change, spec);
      assert.equal(change(start, isDir).toString(8), got[i], `${spec} on a ${isDir ? 'directory' : 'file'} of mode ${start.toString(8)}`);
    });
  });
});
