// COPY/ADD source matching and destination rules. Pattern cases come from Go's
// path/filepath match_test.go (matchTests), restricted to one path component.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanSourcePath, hasWildcard, matchComponent, matchParentsSource, matchSources, planCopy, splitPivot, type CopyPlanOptions } from '../../../src/build/copy-sources';
import type { LayerEntry } from '../../../src/fs/types';
import { fixedMode } from '../../../src/fs/mode-change';
import { UserError } from '../../../src/log';
import { tmpDir } from '../../support/testbed';

const none = { excluded: () => false };

function userError(p: Promise<unknown> | (() => unknown), ...parts: string[]) {
  const check = (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    for (const s of parts) assert.ok(e.message.includes(s), `${JSON.stringify(e.message)} should mention ${JSON.stringify(s)}`);
    return true;
  };
  return typeof p === 'function' ? assert.throws(p, check) : assert.rejects(p, check);
}

describe('build/copy-sources', () => {
  describe('matchComponent (Go filepath.Match)', () => {
    const cases: Array<[string, string, boolean]> = [
      ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'abc', true],
      ['a*b*c*d*e*', 'axbxcxdxe', true], ['a*b*c*d*e*', 'axbxcxdxexxx', true],
      ['a*b?c*x', 'abxbbxdbxebxczzx', true], ['a*b?c*x', 'abxbbxdbxebxczzy', false],
      ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false],
      ['ab[^c]', 'abc', false], ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true],
      ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
      ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false],
      ['[a-ζ]*', 'α', true], ['*[a-ζ]', 'A', false],
      ['[\\-]', '-', true], ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false],
      ['[\\-x]', 'x', true], ['[\\-x]', '-', true], ['[\\-x]', 'a', false],
      ['*x', 'xxx', true],
      // regexp metacharacters are literal
      ['a.b', 'a.b', true], ['a.b', 'axb', false], ['a+(b)', 'a+(b)', true], ['$x^', '$x^', true], ['a|b', 'a', false],
      ['*.txt', '.txt', true], ['*.txt', 'a.txt.bak', false], ['?', '', false], ['*', '', true],
    ];
    for (const [pattern, name, want] of cases) {
      it(`${JSON.stringify(pattern)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => {
        assert.equal(matchComponent(pattern, name), want);
      });
    }
    it('an unterminated class is a user error naming the pattern', () => {
      userError(() => matchComponent('a[', 'ab'), 'a[');
      userError(() => matchComponent('[^bc', 'a'), '[^bc');
    });
    it('hasWildcard', () => {
      assert.equal(hasWildcard('a/b.txt'), false);
      for (const p of ['*.txt', 'a?', 'x[ab]']) assert.equal(hasWildcard(p), true);
    });
  });

  it('cleanSourcePath: drops ., empty parts and leading /; .. cannot climb above the root', () => {
    assert.equal(cleanSourcePath('./a//b/./c'), 'a/b/c');
    assert.equal(cleanSourcePath('/abs/x/'), 'abs/x');
    assert.equal(cleanSourcePath('a/../b'), 'b');
    assert.equal(cleanSourcePath('../../etc/passwd'), 'etc/passwd');
    assert.equal(cleanSourcePath('.'), '');
    assert.equal(cleanSourcePath('..'), '');
  });

  describe('with a context directory', () => {
    let ctx: string;
    const mtime = new Date('2020-01-02T03:04:05Z');
    beforeEach(() => {
      ctx = tmpDir('drydock-copysrc-');
      const w = (rel: string, content: string, mode = 0o644) => {
        fs.mkdirSync(path.dirname(path.join(ctx, rel)), { recursive: true });
        fs.writeFileSync(path.join(ctx, rel), content);
        fs.chmodSync(path.join(ctx, rel), mode);
      };
      w('a.txt', 'A');
      w('b.txt', 'BB');
      w('run.sh', '#!/bin/sh\n', 0o755);
      w('dir/f', 'F');
      w('dir/sub/g', 'G', 0o600);
      w('dir/secret.key', 'K');
      w('src/x/data.json', '{}');
      w('src/y/data.json', '[]');
      w('src/y/other.json', '0');
      fs.chmodSync(path.join(ctx, 'dir'), 0o750);
      fs.symlinkSync('a.txt', path.join(ctx, 'link-to-a'));
      fs.symlinkSync('/etc/passwd', path.join(ctx, 'dir/abs-link'));
    });
    afterEach(() => fs.rmSync(ctx, { recursive: true, force: true }));

    const ignoreKeys = { excluded: (rel: string) => rel.endsWith('.key') || rel === 'b.txt' };

    describe('matchSources', () => {
      it('a plain path names itself, cleaned', () => {
        assert.deepEqual(matchSources(ctx, './dir/../a.txt', none, 'w', 'the build context'), ['a.txt']);
        assert.deepEqual(matchSources(ctx, '.', none, 'w', 'ctx'), ['']);
        assert.deepEqual(matchSources(ctx, 'link-to-a', none, 'w', 'ctx'), ['link-to-a']);
      });
      it('wildcards per component, sorted', () => {
        assert.deepEqual(matchSources(ctx, '*.txt', none, 'w', 'ctx'), ['a.txt', 'b.txt']);
        assert.deepEqual(matchSources(ctx, 'src/*/data.json', none, 'w', 'ctx'), ['src/x/data.json', 'src/y/data.json']);
        assert.deepEqual(matchSources(ctx, 'src/y/*', none, 'w', 'ctx'), ['src/y/data.json', 'src/y/other.json']);
        assert.deepEqual(matchSources(ctx, '[ab].txt', none, 'w', 'ctx'), ['a.txt', 'b.txt']);
        assert.deepEqual(matchSources(ctx, '?.txt', none, 'w', 'ctx'), ['a.txt', 'b.txt']);
      });
      it('a missing path is an error naming the place, the source and the root', () => {
        userError(() => matchSources(ctx, 'nope.txt', none, 'Dockerfile:5', 'the build context'), 'Dockerfile:5', '"nope.txt"', 'not found', 'the build context');
      });
      it('a pattern matching nothing is an error naming it', () => {
        userError(() => matchSources(ctx, '*.md', none, 'Dockerfile:6', 'stage builder'), 'Dockerfile:6', '"*.md"', 'stage builder');
        userError(() => matchSources(ctx, 'nodir/*.txt', none, 'w', 'ctx'), 'nodir/*.txt');
      });
      it('.dockerignore: an excluded plain source is an error; excluded matches are dropped', () => {
        userError(() => matchSources(ctx, 'b.txt', ignoreKeys, 'Dockerfile:2', 'ctx'), 'Dockerfile:2', '"b.txt"', '.dockerignore');
        assert.deepEqual(matchSources(ctx, '*.txt', ignoreKeys, 'w', 'ctx'), ['a.txt']);
        userError(() => matchSources(ctx, 'dir/*.key', ignoreKeys, 'w', 'ctx'), 'dir/*.key');
      });
      it('.. cannot leave the root', () => {
        userError(() => matchSources(ctx, '../../../../etc/passwd', none, 'w', 'ctx'), 'not found');
      });
    });

    describe('planCopy', () => {
      const plan = (o: Partial<CopyPlanOptions>) =>
        planCopy({ root: ctx, rootName: 'the build context', sources: [], dest: '/', destIsDir: false, destExistsAsDir: false, uid: 0, gid: 0, where: 'Dockerfile:3', ...o });
      const summary = (es: LayerEntry[]) => es.map((e) => `${e.type} ${e.path} ${e.mode.toString(8)} ${e.uid}:${e.gid}${e.linkname ? ' -> ' + e.linkname : ''}`);

      it('a symlinked parent leads inside the root, never to the host: an absolute link to / and a relative one climbing out', async () => {
        // a file on the host, outside the root, at a path the root does not have
        const outside = tmpDir('drydock-outside-');
        fs.writeFileSync(path.join(outside, 'secret'), 'host secret');
        fs.symlinkSync('/', path.join(ctx, 'host'));
        fs.symlinkSync('../../../../../../..', path.join(ctx, 'up'));
        fs.mkdirSync(path.join(ctx, outside.slice(1)), { recursive: true });
        try {
          for (const via of ['host', 'up']) {
            const rel = `${via}${outside}/secret`;
            await userError(plan({ sources: [rel], dest: '/x' }), `source "${rel}" not found in the build context`);
            await userError(plan({ sources: [`${via}${outside}/*`], dest: '/x/' }), 'matches nothing');
            await userError(plan({ sources: [`${via}${outside}/secret`], dest: '/x/', parents: true }), 'not found');
          }
          // the same path inside the root is what they name
          fs.writeFileSync(path.join(ctx, outside.slice(1), 'secret'), 'in the root');
          const es = await plan({ sources: [`host${outside}/secret`, `up${outside}/*`], dest: '/x/', destIsDir: true });
          assert.deepEqual(es.map((e) => e.source), [path.join(ctx, outside.slice(1), 'secret')]);
        } finally {
          fs.rmSync(outside, { recursive: true, force: true });
        }
      });

      it('file to file: the destination is the new name; mode and content source from the file', async () => {
        const es = await plan({ sources: ['run.sh'], dest: '/usr/bin/tool', uid: 5, gid: 6 });
        assert.deepEqual(summary(es), ['file usr/bin/tool 755 5:6']);
        assert.equal(es[0].source, path.join(ctx, 'run.sh'));
        assert.equal(es[0].size, 10);
      });
      it('file to dir/ and to an existing directory keep the base name', async () => {
        assert.deepEqual(summary(await plan({ sources: ['a.txt'], dest: '/opt/', destIsDir: true })), ['file opt/a.txt 644 0:0']);
        assert.deepEqual(summary(await plan({ sources: ['dir/f'], dest: '/opt', destExistsAsDir: true })), ['file opt/f 644 0:0']);
      });
      it('several sources need a directory destination', async () => {
        await userError(plan({ sources: ['a.txt', 'run.sh'], dest: '/opt' }), 'Dockerfile:3', 'more than one source', 'end with a /');
        await userError(plan({ sources: ['*.txt'], dest: '/opt' }), 'Dockerfile:3');
        assert.deepEqual(summary(await plan({ sources: ['a.txt', 'run.sh'], dest: '/opt/', destIsDir: true })), ['file opt/a.txt 644 0:0', 'file opt/run.sh 755 0:0']);
        assert.deepEqual(summary(await plan({ sources: ['*.txt'], dest: '/opt', destExistsAsDir: true })), ['file opt/a.txt 644 0:0', 'file opt/b.txt 644 0:0']);
      });
      it('a directory source copies its contents; a new destination directory is 0755 (buildah, Docker)', async () => {
        const es = await plan({ sources: ['dir'], dest: '/app', uid: 1, gid: 2 });
        assert.deepEqual(summary(es), [
          'dir app 755 1:2', 'symlink app/abs-link 777 1:2 -> /etc/passwd', 'file app/f 644 1:2', 'file app/secret.key 644 1:2',
          'dir app/sub 755 1:2', 'file app/sub/g 600 1:2',
        ]);
      });
      it('a directory to the root emits its contents only', async () => {
        const es = await plan({ sources: ['dir/sub'], dest: '/' });
        assert.deepEqual(summary(es), ['file g 600 0:0']);
      });
      it('--chmod applies to copied files and directories, not symlinks nor the new destination; mtime is fixed when given', async () => {
        const es = await plan({ sources: ['dir', 'link-to-a'], dest: '/d/', destIsDir: true, chmod: fixedMode(0o640), mtime });
        assert.deepEqual(summary(es), [
          'dir d 755 0:0', 'symlink d/abs-link 777 0:0 -> /etc/passwd', 'file d/f 640 0:0', 'file d/secret.key 640 0:0',
          'dir d/sub 640 0:0', 'file d/sub/g 640 0:0', 'file d/link-to-a 640 0:0',
        ]);
        for (const e of es) assert.equal(e.mtime.getTime(), mtime.getTime(), e.path);
      });
      it('without a fixed mtime, the source file mtime is kept', async () => {
        const t = new Date('2011-11-11T11:11:11Z');
        fs.utimesSync(path.join(ctx, 'a.txt'), t, t);
        const [e] = await plan({ sources: ['a.txt'], dest: '/a' });
        assert.equal(e.mtime.getTime(), t.getTime());
      });
      it('a symlink named as a source is followed inside the root (Docker); links inside directories stay links', async () => {
        assert.deepEqual(summary(await plan({ sources: ['link-to-a'], dest: '/l' })), ['file l 644 0:0']);
      });
      it('an existing destination directory keeps its owner and mode (no entry for it)', async () => {
        const es = await plan({ sources: ['dir'], dest: '/usr/local/', destIsDir: true, destExistsAsDir: true });
        assert.ok(!es.some((e) => e.path === 'usr/local'));
        assert.ok(es.some((e) => e.path === 'usr/local/f'));
      });
      it('.dockerignore applies inside copied directories, relative to the root', async () => {
        const es = await plan({ sources: ['dir'], dest: '/app', filter: ignoreKeys });
        assert.ok(!es.some((e) => e.path.endsWith('.key')));
        assert.ok(es.some((e) => e.path === 'app/f'));
      });
      it('the whole context (.) to a directory', async () => {
        const es = await plan({ sources: ['.'], dest: '/ctx/', destIsDir: true, filter: ignoreKeys });
        const paths = es.map((e) => e.path);
        assert.ok(paths.includes('ctx'));
        assert.ok(paths.includes('ctx/a.txt'));
        assert.ok(paths.includes('ctx/src/y/other.json'));
        assert.ok(!paths.includes('ctx/b.txt'));
        assert.ok(!paths.includes('ctx/dir/secret.key'));
      });
      it('a later source wins for the same destination path', async () => {
        fs.mkdirSync(path.join(ctx, 'other'));
        fs.writeFileSync(path.join(ctx, 'other/a.txt'), 'newer');
        const es = await plan({ sources: ['a.txt', 'other/a.txt'], dest: '/d/', destIsDir: true });
        assert.deepEqual(es.map((e) => e.source), [path.join(ctx, 'other/a.txt')]);
      });
      it('a file onto the root directory is an error', async () => {
        await userError(plan({ sources: ['a.txt'], dest: '/' }), 'Dockerfile:3', 'a.txt');
      });
      it('missing sources fail with the source named', async () => {
        await userError(plan({ sources: ['a.txt', 'gone'], dest: '/d/', destIsDir: true }), '"gone"', 'the build context');
      });

      // COPY --parents (Dockerfile 1.20, GA; BuildKit's rules: the reference's examples and
      // dockerfile2llb's pivot and required-path handling). buildah 1.28 has no --parents, so
      // these cases are checked here rather than against it.
      describe('--parents', () => {
        const parents = (sources: string[], dest = '/app', more: Partial<CopyPlanOptions> = {}) => plan({ sources, dest, parents: true, ...more });
        it('splitPivot: the first /./ is the pivot; without one, the whole source from the root', () => {
          assert.deepEqual(splitPivot('./x/./y/*.txt'), { base: 'x', pattern: 'y/*.txt' });
          assert.deepEqual(splitPivot('/out/./dist/a'), { base: 'out', pattern: 'dist/a' });
          assert.deepEqual(splitPivot('./x/a.txt'), { base: '', pattern: 'x/a.txt' });
          assert.deepEqual(splitPivot('a/./b/./c'), { base: 'a', pattern: 'b/c' });
        });
        it('keeps each source\'s directories (the reference\'s x/a.txt y/a.txt example), taking their mode and owner from the source', async () => {
          const es = await parents(['src/x/data.json', 'src/y/data.json', 'dir/sub/g']);
          assert.deepEqual(summary(es), [
            'dir app 755 0:0',
            'dir app/src 755 0:0', 'dir app/src/x 755 0:0', 'file app/src/x/data.json 644 0:0',
            'dir app/src/y 755 0:0', 'file app/src/y/data.json 644 0:0',
            'dir app/dir 750 0:0', 'dir app/dir/sub 755 0:0', 'file app/dir/sub/g 600 0:0',
          ]);
        });
        it('the destination is a directory even without a trailing slash, and may exist', async () => {
          assert.deepEqual(summary(await parents(['a.txt'], '/opt', { destExistsAsDir: true })), ['file opt/a.txt 644 0:0']);
        });
        it('a pivot keeps only what follows it', async () => {
          assert.deepEqual(summary(await parents(['src/./y/*.json'])), ['dir app 755 0:0', 'dir app/y 755 0:0', 'file app/y/data.json 644 0:0', 'file app/y/other.json 644 0:0']);
          assert.deepEqual(summary(await parents(['./src/y/./data.json'])), ['dir app 755 0:0', 'file app/data.json 644 0:0']);
        });
        it('* stays in its component; ** spans any number of them (none too)', async () => {
          assert.deepEqual(summary(await parents(['src/*/data.json'])).filter((l) => l.startsWith('file')), ['file app/src/x/data.json 644 0:0', 'file app/src/y/data.json 644 0:0']);
          assert.deepEqual(summary(await parents(['*.json'])), ['dir app 755 0:0'], 'no .json at the top');
          assert.deepEqual(summary(await parents(['**/*.json'])).filter((l) => l.startsWith('file')),
            ['file app/src/x/data.json 644 0:0', 'file app/src/y/data.json 644 0:0', 'file app/src/y/other.json 644 0:0']);
          fs.writeFileSync(path.join(ctx, 'top.json'), '1');
          assert.deepEqual(summary(await parents(['**/*.json'])).filter((l) => l.startsWith('file')).length, 4, '** matches no component too');
        });
        it('a directory that matches is copied whole, under its own name', async () => {
          const es = summary(await parents(['dir']));
          assert.deepEqual(es.slice(0, 2), ['dir app 755 0:0', 'dir app/dir 750 0:0']);
          assert.ok(es.includes('file app/dir/sub/g 600 0:0'), es.join('\n'));
          assert.ok(es.includes('symlink app/dir/abs-link 777 0:0 -> /etc/passwd'));
        });
        it('a symlink that matches is copied as a link', async () => {
          assert.deepEqual(summary(await parents(['link-*'])), ['dir app 755 0:0', 'symlink app/link-to-a 777 0:0 -> a.txt']);
        });
        it('a plain path must exist; a pattern may match nothing', async () => {
          await userError(parents(['src/z/data.json']), 'Dockerfile:3', '"src/z/data.json"', 'not found');
          assert.deepEqual(summary(await parents(['src/z/*.json'])), ['dir app 755 0:0']);
        });
        it('.dockerignore and --exclude leave matches out; an excluded plain source is an error', async () => {
          assert.deepEqual(summary(await parents(['dir/*'], '/app', { filter: ignoreKeys })).filter((l) => l.includes('key')), []);
          await userError(parents(['b.txt'], '/app', { filter: ignoreKeys }), '.dockerignore');
          assert.deepEqual(matchParentsSource(ctx, '*.txt', ignoreKeys, 'w', 'ctx'), { base: '', rels: ['a.txt'] });
        });
        it('--chown and --chmod apply to the kept directories too; .. cannot leave the root', async () => {
          assert.deepEqual(summary(await parents(['dir/f'], '/app', { uid: 7, gid: 8, chmod: fixedMode(0o700) })), ['dir app 755 7:8', 'dir app/dir 700 7:8', 'file app/dir/f 700 7:8']);
          await userError(parents(['../../etc/passwd']), 'not found');
        });
      });
    });
  });
});
