// Which ADD sources name a git repository, and what they ask of it (BuildKit's forms: the
// #ref:subdir fragment and the query parameters). Fetching is tested end to end in
// test/integration/build/executor.test.ts against a git server on loopback.
import * as assert from 'node:assert/strict';
import { parseGitSource } from '../../../src/context/git-source';
import { UserError } from '../../../src/log';

describe('context/git-source: parseGitSource', () => {
  it('git, ssh and scp-like sources, and http(s) URLs whose path ends in .git', () => {
    assert.deepEqual(parseGitSource('https://github.com/moby/buildkit.git'), { remote: 'https://github.com/moby/buildkit.git' });
    assert.deepEqual(parseGitSource('git://host/repo'), { remote: 'git://host/repo' });
    assert.deepEqual(parseGitSource('ssh://git@host:2222/repo.git'), { remote: 'ssh://git@host:2222/repo.git' });
    assert.deepEqual(parseGitSource('git@github.com:moby/buildkit.git#v0.12.0'), { remote: 'git@github.com:moby/buildkit.git', ref: 'v0.12.0' });
  });
  it('anything else is not a git source: plain URLs, local paths', () => {
    for (const s of ['https://example.com/file.tar.gz', 'http://example.com/repo.git.tar', 'local/dir', 'file.git', './x.git', 'C:/x.git']) {
      assert.equal(parseGitSource(s), null, s);
    }
  });
  it('the fragment gives the ref and the subdir', () => {
    assert.deepEqual(parseGitSource('https://h/r.git#main'), { remote: 'https://h/r.git', ref: 'main' });
    assert.deepEqual(parseGitSource('https://h/r.git#v1:docs/site'), { remote: 'https://h/r.git', ref: 'v1', subdir: 'docs/site' });
    assert.deepEqual(parseGitSource('https://h/r.git#:sub'), { remote: 'https://h/r.git', subdir: 'sub' });
  });
  it('the query form: ref, subdir, checksum, keep-git-dir, submodules', () => {
    assert.deepEqual(parseGitSource('https://h/r.git?ref=v2&subdir=a/b&checksum=abc1234&keep-git-dir=true&submodules=false'),
      { remote: 'https://h/r.git', ref: 'v2', subdir: 'a/b', checksum: 'abc1234', keepGitDir: true, submodules: false });
  });
  it('bad parameters, both forms at once and option-like refs are user errors; a password is not repeated', () => {
    const bad = (s: string, ...parts: string[]) => assert.throws(() => parseGitSource(s), (e: unknown) => {
      assert.ok(e instanceof UserError);
      for (const p of parts) assert.ok(e.message.includes(p), `${e.message} should mention ${p}`);
      assert.ok(!e.message.includes('hunter22'), e.message);
      return true;
    });
    bad('https://u:hunter22@h/r.git?colour=red', 'unknown query parameter "colour"');
    bad('https://h/r.git?ref=a#b', 'either in the #fragment or in the query');
    bad('https://h/r.git#--upload-pack=evil', 'invalid ref');
    bad('https://h/r.git?keep-git-dir=maybe', 'keep-git-dir=maybe');
  });
});
