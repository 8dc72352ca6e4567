// Build contexts: a directory used in place; tar, tar.gz (local, tar://, https) unpacked into the
// work dir without letting any entry land outside it; --context-sub-path kept inside.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { openContext } from '../../../src/context/context';
import { parseGitOptions } from '../../../src/context/git-source';
import { UserError } from '../../../src/log';
import { run, tmpDir } from '../../support/testbed';

type Entry = { name: string; type?: tar.Header['type']; data?: string; mode?: number; linkname?: string };

async function tarBuffer(entries: Entry[], gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of pack) chunks.push(c as Buffer); })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644, linkname: e.linkname, mtime: new Date(0) }, e.data ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  const body = Buffer.concat(chunks);
  return gzip ? zlib.gzipSync(body) : body;
}

const GOOD: Entry[] = [
  { name: './Dockerfile', data: 'FROM scratch\n' },
  { name: 'app/', type: 'directory', mode: 0o755 },
  { name: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o755 },
  { name: 'app/sub/deep.txt', data: 'deep' },
  { name: 'app/link', type: 'symlink', linkname: 'run.sh' },
];

function userError(p: Promise<unknown>, ...parts: string[]) {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    for (const s of parts) assert.ok(e.message.includes(s), `${JSON.stringify(e.message)} should mention ${JSON.stringify(s)}`);
    return true;
  });
}

function checkGood(dir: string) {
  assert.equal(fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8'), 'FROM scratch\n');
  assert.equal(fs.statSync(path.join(dir, 'app/run.sh')).mode & 0o777, 0o755);
  assert.equal(fs.readFileSync(path.join(dir, 'app/sub/deep.txt'), 'utf8'), 'deep');
  assert.equal(fs.readlinkSync(path.join(dir, 'app/link')), 'run.sh');
}

describe('context/context', () => {
  let work: string;
  let tmp: string;
  beforeEach(() => {
    work = tmpDir('drydock-ctxwork-');
    tmp = tmpDir('drydock-ctxsrc-');
  });
  afterEach(() => {
    for (const d of [work, tmp]) fs.rmSync(d, { recursive: true, force: true });
  });

  describe('directories', () => {
    it('a directory is used in place (resolved); dir:// is the same', async () => {
      fs.writeFileSync(path.join(tmp, 'Dockerfile'), 'FROM x\n');
      const rel = path.relative(process.cwd(), tmp);
      const c = await openContext(rel, work, undefined);
      assert.equal(c.dir, tmp);
      assert.equal(c.source, rel);
      assert.equal((await openContext(`dir://${tmp}`, work, undefined)).dir, tmp);
      assert.deepEqual(fs.readdirSync(work), [], 'nothing unpacked');
    });
    it('a missing context is an error naming it', async () => {
      await userError(openContext(path.join(tmp, 'nope'), work, undefined), path.join(tmp, 'nope'), 'does not exist');
      await userError(openContext(`tar://${path.join(tmp, 'nope.tar')}`, work, undefined), 'nope.tar');
    });
    it('tar:// naming a directory is an error', async () => {
      await userError(openContext(`tar://${tmp}`, work, undefined), 'expected a tar file');
    });
  });

  describe('archives', () => {
    for (const [label, name, gz] of [['.tar', 'ctx.tar', false], ['.tar.gz', 'ctx.tar.gz', true], ['tar:// with gzip', 'ctx.bin', true], ['.tgz', 'ctx.tgz', true]] as const) {
      it(`unpacks ${label}`, async () => {
        const f = path.join(tmp, name);
        fs.writeFileSync(f, await tarBuffer(GOOD, gz));
        const spec = label.startsWith('tar://') ? `tar://${f}` : f;
        const c = await openContext(spec, work, undefined);
        assert.equal(c.dir, path.join(work, 'context'));
        assert.equal(c.source, spec);
        checkGood(c.dir);
      });
    }

    it('reads tar://stdin (kaniko\'s piped context), gzip\'d or plain; refuses a terminal and an empty input', async () => {
      for (const gz of [true, false]) {
        const w = path.join(tmp, `stdin-work-${gz}`);
        const c = await openContext('tar://stdin', w, undefined, { stdin: Readable.from([await tarBuffer(GOOD, gz)]) });
        assert.equal(c.dir, path.join(w, 'context'));
        checkGood(c.dir);
      }
      const tty = Object.assign(Readable.from([]), { isTTY: true });
      await userError(openContext('tar://stdin', path.join(tmp, 'stdin-tty'), undefined, { stdin: tty }), 'standard input is a terminal');
      await userError(openContext('tar://stdin', path.join(tmp, 'stdin-empty'), undefined, { stdin: Readable.from([]) }), 'tar://stdin: standard input was empty');
    });

    it('reads an archive made by GNU tar (with a leading ./ directory)', async () => {
      const src = path.join(tmp, 'src');
      fs.mkdirSync(path.join(src, 'app/sub'), { recursive: true });
      fs.writeFileSync(path.join(src, 'Dockerfile'), 'FROM scratch\n');
      fs.writeFileSync(path.join(src, 'app/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
      fs.writeFileSync(path.join(src, 'app/sub/deep.txt'), 'deep');
      fs.symlinkSync('run.sh', path.join(src, 'app/link'));
      const f = path.join(tmp, 'gnu.tar.gz');
      run('tar', ['-czf', f, '-C', src, '.']);
      checkGood((await openContext(f, work, undefined)).dir);
    });

    it('a file that is no tar is an error naming the context', async () => {
      const f = path.join(tmp, 'junk.tar.gz');
      fs.writeFileSync(f, zlib.gzipSync(Buffer.from('this is not a tar archive at all'.repeat(40))));
      await userError(openContext(f, work, undefined), f, 'not a readable tar');
      const g = path.join(tmp, 'trunc.tar.gz');
      fs.writeFileSync(g, (await tarBuffer(GOOD, true)).subarray(0, 30));
      await userError(openContext(g, work, undefined), g);
    });

    describe('symlinks in the archive', () => {
      it('a file written through a symlink entry pointing outside', async () => {
        const outside = path.join(tmp, 'outside');
        fs.mkdirSync(outside);
        const f = path.join(tmp, 'evil-link.tar');
        fs.writeFileSync(f, await tarBuffer([{ name: 'out', type: 'symlink', linkname: outside }, { name: 'out/pwned', data: 'pwned' }]));
        await openContext(f, work, undefined).catch(() => undefined);
        assert.ok(!fs.existsSync(path.join(outside, 'pwned')), 'the archive wrote outside the context through its own symlink');
      });
    });

    describe('escape attempts', () => {
      for (const name of ['../escaped.txt', 'a/../../escaped.txt', '/abs-escaped.txt']) {
        it(`entry ${name}`, async () => {
          const f = path.join(tmp, 'evil.tar');
          fs.writeFileSync(f, await tarBuffer([{ name: 'ok.txt', data: 'ok' }, { name, data: 'pwned' }]));
          let err: unknown;
          let dir = '';
          try {
            dir = (await openContext(f, work, undefined)).dir;
          } catch (e) {
            err = e;
          }
          // either refused or kept inside: never written outside the context directory
          assert.ok(!fs.existsSync(path.join(work, 'escaped.txt')));
          assert.ok(!fs.existsSync(path.join(tmp, 'escaped.txt')));
          assert.ok(!fs.existsSync('/abs-escaped.txt'));
          if (err) {
            assert.ok(err instanceof UserError);
            assert.ok(err.message.includes(name) && err.message.includes('outside'), err.message);
          } else {
            assert.ok(fs.existsSync(path.join(dir, 'abs-escaped.txt')), 'an absolute entry lands inside the context');
          }
        });
      }
    });
  });

  describe('--context-sub-path', () => {
    it('selects a directory inside the context, also in an archive', async () => {
      fs.mkdirSync(path.join(tmp, 'svc/api'), { recursive: true });
      assert.equal((await openContext(tmp, work, 'svc/api')).dir, path.join(tmp, 'svc/api'));
      const f = path.join(tmp, 'c.tar.gz');
      fs.writeFileSync(f, await tarBuffer(GOOD, true));
      const c = await openContext(f, work, 'app/sub');
      assert.equal(c.dir, path.join(work, 'context/app/sub'));
    });
    it('may not leave the context', async () => {
      fs.mkdirSync(path.join(tmp, 'ctx'));
      fs.mkdirSync(path.join(tmp, 'ctx-sibling'));
      await userError(openContext(path.join(tmp, 'ctx'), work, '..'), '--context-sub-path ..', 'leaves the build context');
      await userError(openContext(path.join(tmp, 'ctx'), work, '../ctx-sibling'), 'leaves the build context');
      await userError(openContext(path.join(tmp, 'ctx'), work, '/etc'), 'leaves the build context');
    });
    it('must be an existing directory', async () => {
      fs.writeFileSync(path.join(tmp, 'file'), 'x');
      await userError(openContext(tmp, work, 'missing'), '--context-sub-path missing', 'no such directory');
      await userError(openContext(tmp, work, 'file'), '--context-sub-path file');
    });
  });

  describe('remote forms', () => {
    it('git contexts (fetched in test/integration/build/executor.test.ts) need git, and well-formed kaniko URLs and --git options', async () => {
      await userError(openContext('git://example.invalid/repo.git', work, undefined), 'a git context needs git on this host');
      await userError(openContext('https://example.invalid/repo.git', work, undefined, {}), 'a git context needs git on this host');
      await userError(openContext('git://example.invalid/repo.git#a#b#c', work, undefined, { git: '/usr/bin/git' }), 'expected git://HOST/PATH[#REF[#COMMIT]]');
      await userError(openContext('git://example.invalid/repo.git', work, undefined, { git: '/usr/bin/git', env: { GIT_PULL_METHOD: 'ftp' } }), 'GIT_PULL_METHOD=ftp: expected https or http');
      assert.deepEqual(parseGitOptions('branch=dev,single-branch=true,recurse-submodules=false,insecure-skip-tls,depth=1'), { branch: 'dev', recurseSubmodules: false, insecureSkipTls: true });
      assert.throws(() => parseGitOptions('depth=deep'), /--git depth=deep: expected a number/);
      assert.throws(() => parseGitOptions('single-branch=maybe'), /--git single-branch=maybe: expected true or false/);
      await userError(openContext('git://example.invalid/repo.git#main#--upload-pack=x', work, undefined, { git: '/usr/bin/git' }), 'is not a commit id');
    });

    it('https:// (here http on loopback) downloads and unpacks a tar.gz', async () => {
      const body = await tarBuffer(GOOD, true);
      const srv = http.createServer((req, res) => {
        if (req.url === '/ctx.tar.gz') res.end(body);
        else { res.statusCode = 404; res.end(); }
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as AddressInfo).port;
      try {
        checkGood((await openContext(`http://127.0.0.1:${port}/ctx.tar.gz`, work, undefined)).dir);
        await userError(openContext(`http://127.0.0.1:${port}/missing.tar.gz`, work, undefined), 'HTTP 404', '/missing.tar.gz');
      } finally {
        srv.close();
      }
    });

    it('s3://: a .tar.gz key as is, a prefix means PREFIX/context.tar.gz; no fetcher is an error', async () => {
      // the fetcher is injected by the builder (src/aws/s3.ts, tested against s3rver elsewhere):
      // here it only records which URL the context asked for
      const body = await tarBuffer(GOOD, true);
      const asked: string[] = [];
      const s3Get = async (url: string) => { asked.push(url); return { body: Readable.from([body]) }; };
      checkGood((await openContext('s3://bucket/ci/ctx.tar.gz', path.join(work, 'a'), undefined, { s3Get })).dir);
      checkGood((await openContext('s3://bucket/ci/build-42/', path.join(work, 'b'), undefined, { s3Get })).dir);
      assert.deepEqual(asked, ['s3://bucket/ci/ctx.tar.gz', 's3://bucket/ci/build-42/context.tar.gz']);
      await userError(openContext('s3://bucket/x.tar.gz', work, undefined), 's3://');
    });
  });
});
