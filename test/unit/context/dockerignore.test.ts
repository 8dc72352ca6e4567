// .dockerignore semantics. Expected results come from moby/patternmatcher's own test tables
// (TestMatches, MatchesOrParentMatches) and BuildKit's ignorefile reader.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../src/log';
import { loadDockerignore, parseDockerignore, readIgnorePatterns } from '../../../src/context/dockerignore';

const excluded = (patterns: string[], file: string) => parseDockerignore(patterns.join('\n')).matches(file, false);

describe('context/dockerignore', () => {
  describe('single patterns (patternmatcher TestMatches)', () => {
    const cases: [string, string, boolean][] = [
      ['**', 'file', true],
      ['**', 'file/', true],
      ['**/', 'file', true],
      ['**', 'dir/file', true],
      ['**/**', 'dir/file', true],
      ['dir/**', 'dir/file', true],
      ['dir/**', 'dir/dir2/file', true],
      ['**/dir', 'dir', true],
      ['**/dir', 'dir/file', true],
      ['**/dir2/*', 'dir/dir2/file', true],
      ['**/dir2/*', 'dir/dir2/file/', true],
      ['**/dir2/**', 'dir/dir2/dir3/file', true],
      ['**file', 'file', true],
      ['**file', 'dir/dir/file', true],
      ['**/file', 'dir/dir/file', true],
      ['**/file*', 'dir/dir/file.txt', true],
      ['**/file*txt', 'dir/dir/file.txt', true],
      ['**/**/*.txt', 'dir/dir/file.txt', true],
      ['**/**/*.txt2', 'dir/dir/file.txt', false],
      ['**/*.txt', 'file.txt', true],
      ['a**/*.txt', 'a/dir/dir/file.txt', true],
      ['a/*.txt', 'a/dir/file.txt', false],
      ['a/*.txt', 'a/file.txt', true],
      ['a/*.txt**', 'a/file.txt', true],
      ['a[b-d]e', 'ae', false],
      ['a[b-d]e', 'ace', true],
      ['a[^b-d]e', 'aze', true],
      ['.*', '.foo', true],
      ['.*', 'foo', false],
      ['abc.def', 'abcdef', false],
      ['abc.def', 'abc.def', true],
      ['abc?def', 'abcZdef', true],
      ['abc?def', 'abcdef', false],
      ['**/foo/bar', 'foo/bar', true],
      ['**/foo/bar', 'dir/dir2/foo/bar', true],
      ['abc/**', 'abc', false],
      ['abc/**', 'abc/def/ghi', true],
      ['**/.foo', '.foo', true],
      ['**/.foo', 'bar.foo', false],
      ['a(b)c/def', 'a(b)c/def', true],
      ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
      ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
      ['a\\\\', 'a\\', true],
      ['a\\*b', 'a*b', true],
      ['a\\*b', 'ab', false],
      ['*', 'abc', true],
      ['a*', 'ab/c', true], // the parent "ab" matches
      ['a*/b', 'a/c/b', false],
      ['a?b', 'a☺b', true],
      ['a???b', 'a☺b', false],
      ['a?b', 'a/b', false],
      ['*x', 'xxx', true],
    ];
    for (const [pattern, file, want] of cases) {
      it(`${JSON.stringify(pattern)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(file)}`, () => {
        assert.equal(excluded([pattern], file), want);
      });
    }
  });

  describe('exceptions and last match wins', () => {
    it('an exception after a pattern re-includes', () => {
      assert.equal(excluded(['*.go', '!fileutils.go'], 'fileutils.go'), false);
      assert.equal(excluded(['*.go', '!fileutils.go'], 'other.go'), true);
    });
    it('an exception before the pattern is overridden', () => {
      assert.equal(excluded(['!fileutils.go', '*.go'], 'fileutils.go'), true);
    });
    it('folder patterns (with /, /*) exclude children, exceptions re-include one', () => {
      for (const folder of ['docs', 'docs/', 'docs/*']) {
        assert.equal(excluded([folder, '!docs/README.md'], 'docs/README.md'), false, folder);
        assert.equal(excluded([folder, '!docs/README.md'], 'docs/other.md'), true, folder);
      }
    });
    it('** with an exception for a directory, then re-excluding inside it', () => {
      assert.equal(excluded(['**', '!util/docker/web'], 'util/docker/web/foo'), false);
      assert.equal(excluded(['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo'), true);
      assert.equal(excluded(['**', '!dist/*.whl'], 'dist/a-1.0+x.whl'), false);
    });
    it('never excludes the context root', () => {
      assert.equal(excluded(['*', '**'], '.'), false);
      assert.equal(excluded(['*'], './'), false);
    });
  });

  describe('reading the file', () => {
    it('skips comments (only at column 0) and blank lines, trims, cleans, drops leading / and ./', () => {
      const text = '\uFEFF# comment\n\n  spaced  \n/abs/path\n./rel/../other/\n #notcomment\n! kept \nbuild//out/\r\n';
      const got = readIgnorePatterns(text).map((p) => (p.exclusion ? '!' : '') + p.pattern);
      assert.deepEqual(got, ['spaced', 'abs/path', 'other', '#notcomment', '!kept', 'build/out']);
      const lines = readIgnorePatterns(text).map((p) => p.line);
      assert.deepEqual(lines, [3, 4, 5, 6, 7, 8]);
    });
    it('matches paths given with ./ or a leading /', () => {
      const m = parseDockerignore('node_modules\n');
      assert.equal(m.matches('./node_modules/x/y.js', false), true);
      assert.equal(m.matches('/node_modules', true), true);
      assert.equal(m.matches('src/node_modules', true), false);
    });
    it('rejects a lone "!" naming the line', () => {
      assert.throws(() => parseDockerignore('a\n!\n'), (e: unknown) => e instanceof UserError && /^\.dockerignore:2: "!" without a pattern, expected/.test(e.message));
    });
    it('rejects malformed brackets naming the line', () => {
      assert.throws(() => parseDockerignore('ok\n[\n'), (e: unknown) => e instanceof UserError && /^\.dockerignore:2: invalid pattern "\["/.test(e.message));
    });
    it('rejects a trailing backslash', () => {
      assert.throws(() => parseDockerignore('abc\\'), /\.dockerignore:1: pattern "abc\\\\" ends with a backslash/);
    });
  });

  describe('mayHaveExceptionsUnder', () => {
    it('is false without exceptions', () => {
      assert.equal(parseDockerignore('node_modules\n').mayHaveExceptionsUnder('node_modules'), false);
    });
    it('is true only for directories that contain a plain exception', () => {
      const m = parseDockerignore('vendor\n!vendor/keep/me.txt\n');
      assert.equal(m.mayHaveExceptionsUnder('vendor'), true);
      assert.equal(m.mayHaveExceptionsUnder('vendor/keep'), true);
      assert.equal(m.mayHaveExceptionsUnder('vendor/other'), false);
      assert.equal(m.mayHaveExceptionsUnder('vendorx'), false);
      assert.equal(m.matches('vendor/keep/me.txt', false), false);
      assert.equal(m.matches('vendor/keep', true), true);
    });
    it('is true for an exception naming the directory itself', () => {
      assert.equal(parseDockerignore('*\n!src\n').mayHaveExceptionsUnder('src'), true);
    });
    it('is always true when an exception has wildcards', () => {
      const m = parseDockerignore('**\n!**/*.go\n');
      assert.equal(m.mayHaveExceptionsUnder('anything/at/all'), true);
    });
  });

  describe('loadDockerignore', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dockerignore-'));
      await fs.mkdir(path.join(dir, 'docker'));
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('prefers <Dockerfile>.dockerignore next to the Dockerfile', async () => {
      await fs.writeFile(path.join(dir, '.dockerignore'), 'from-context\n');
      await fs.writeFile(path.join(dir, 'docker', 'app.Dockerfile.dockerignore'), 'from-dockerfile\n');
      const m = await loadDockerignore(dir, 'docker/app.Dockerfile');
      assert.equal(m.source, path.join(dir, 'docker', 'app.Dockerfile.dockerignore'));
      assert.equal(m.matches('from-dockerfile', false), true);
      assert.equal(m.matches('from-context', false), false);
    });
    it('falls back to <context>/.dockerignore', async () => {
      await fs.writeFile(path.join(dir, '.dockerignore'), 'from-context\n');
      const m = await loadDockerignore(dir, path.join(dir, 'Dockerfile'));
      assert.equal(m.source, path.join(dir, '.dockerignore'));
      assert.equal(m.matches('from-context/x', false), true);
    });
    it('ignores nothing when there is no file', async () => {
      const m = await loadDockerignore(dir, 'Dockerfile');
      assert.equal(m.source, undefined);
      assert.equal(m.matches('anything', false), false);
      assert.equal(m.mayHaveExceptionsUnder('anything'), false);
    });
    it('names the file in syntax errors', async () => {
      await fs.writeFile(path.join(dir, '.dockerignore'), 'ok\n!\n');
      await assert.rejects(loadDockerignore(dir, 'Dockerfile'), (e: unknown) => e instanceof UserError && e.message.startsWith(`${path.join(dir, '.dockerignore')}:2:`));
    });
  });
});
