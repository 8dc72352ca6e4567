// The layer cache through whole builds: an unchanged rebuild hits every cached step and yields the
// same image digest; changing one input (a COPY source, a build arg, an ENV) misses from that step
// on; --cache-dir bases from `drydock warm` give the same keys as the registry.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from '../../../src/build/build';
import { parseBuildArgs } from '../../../src/cli/build';
import { main as warmMain } from '../../../src/cli/warm';
import { log } from '../../../src/log';
import { makeContext, umociUnpack } from '../../support/executor';
import { pushBaseImages, startRegistry, tmpDir, type Registry } from '../../support/testbed';

/** Run a build in-process, capturing the cache lines of its log. */
async function buildWith(args: string[]): Promise<{ digest: string; hits: number; misses: number; lines: string[] }> {
  const lines: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  const origOut = process.stdout.write.bind(process.stdout);
  const capture = (chunk: unknown) => { lines.push(String(chunk)); return true; };
  (process.stderr as unknown as { write: unknown }).write = capture;
  (process.stdout as unknown as { write: unknown }).write = capture;
  try {
    const opts = parseBuildArgs(args)!;
    const r = await build(opts);
    const text = lines.join('');
    return {
      digest: r.digest,
      hits: (text.match(/cache hit /g) ?? []).length,
      misses: (text.match(/no cached layer/g) ?? []).length,
      lines: text.split('\n'),
    };
  } finally {
    (process.stderr as unknown as { write: unknown }).write = orig;
    (process.stdout as unknown as { write: unknown }).write = origOut;
    log.configure({ level: 'info' });
  }
}

describe('layer cache in whole builds', function () {
  this.timeout(180000);
  let reg: Registry;
  let work: string;
  let ctx: string;
  before(async () => {
    reg = await startRegistry('plain');
    await pushBaseImages(reg);
    work = tmpDir('drydock-build-cache-');
    ctx = makeContext({
      'a.txt': 'alpha\n',
      'c.txt': 'gamma\n',
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest`,
        'ARG V=1',
        'ENV GREETING=hello',
        'COPY a.txt /app/a.txt',
        'RUN cat /app/a.txt > /app/b.txt && echo "$GREETING $V" >> /app/b.txt',
        'COPY c.txt /app/',
        'CMD ["cat", "/app/b.txt"]',
      ].join('\n') + '\n',
    });
  });
  after(() => {
    for (const d of [work, ctx]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  const args = (cacheRepo: string, extra: string[] = []) => [
    '--context', ctx, '--no-push', '--reproducible', '--cache', `--cache-repo=${cacheRepo}`, '--cache-copy-layers',
    '--oci-layout-path', path.join(work, 'out'), '--custom-platform', 'linux/amd64', ...extra,
  ];

  for (const backend of ['oci', 'registry'] as const) {
    it(`${backend}: rebuild hits every step with the same digest; one changed input misses from there on`, async () => {
      const repo = backend === 'oci' ? `oci:${path.join(work, 'layer-cache')}` : `${reg.host}/drydock/build-cache`;
      const first = await buildWith(args(repo));
      assert.deepEqual([first.hits, first.misses], [0, 3]);
      const again = await buildWith(args(repo));
      assert.deepEqual([again.hits, again.misses], [3, 0], again.lines.filter((l) => /cache|STEP/.test(l)).join('\n'));
      assert.equal(again.digest, first.digest);
      const { rootfs } = umociUnpack(path.join(work, 'out'), 'latest');
      assert.equal(fs.readFileSync(path.join(rootfs, 'app/b.txt'), 'utf8'), 'alpha\nhello 1\n', 'the image from cached layers has the RUN output');

      fs.writeFileSync(path.join(ctx, 'c.txt'), 'gamma 2\n');
      const lastCopy = await buildWith(args(repo));
      assert.deepEqual([lastCopy.hits, lastCopy.misses], [2, 1], 'only the last COPY misses');
      assert.notEqual(lastCopy.digest, first.digest);
      fs.writeFileSync(path.join(ctx, 'c.txt'), 'gamma\n');
      assert.equal((await buildWith(args(repo))).digest, first.digest, 'restoring the file hits again');

      const arg = await buildWith(args(repo, ['--build-arg', 'V=2']));
      assert.deepEqual([arg.hits, arg.misses], [0, 3], 'an ARG value in scope changes every later key');

      fs.writeFileSync(path.join(ctx, 'a.txt'), 'alpha 2\n');
      const src = await buildWith(args(repo));
      assert.deepEqual([src.hits, src.misses], [0, 3], 'a changed COPY source misses it and every later step');
      fs.writeFileSync(path.join(ctx, 'a.txt'), 'alpha\n');

      const df = fs.readFileSync(path.join(ctx, 'Dockerfile'), 'utf8');
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), df.replace('ENV GREETING=hello', 'ENV GREETING=hi'));
      const env = await buildWith(args(repo));
      assert.deepEqual([env.hits, env.misses], [0, 3], 'an ENV change misses every later layer');
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), df);
      assert.equal((await buildWith(args(repo))).digest, first.digest);
    });
  }

  it('caches a RUN with bind mounts by what they show it: the context (less .dockerignore) and another stage', async () => {
    const bctx = makeContext({
      'dep.txt': 'v1\n',
      'ignored.log': 'noise 1\n',
      '.dockerignore': '*.log\n',
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest AS tools`,
        'RUN echo tool > /tool.txt',
        `FROM ${reg.host}/library/busybox:latest`,
        'RUN --mount=type=bind,source=dep.txt,target=/dep.txt --mount=type=bind,target=/ctx --mount=type=bind,from=tools,source=/tool.txt,target=/tool.txt cat /dep.txt /tool.txt > /out.txt && ls /ctx > /ls.txt',
      ].join('\n') + '\n',
    });
    const repo = `oci:${path.join(work, 'bind-cache')}`;
    const bargs = [...args(repo), '--context', bctx];
    const first = await buildWith(bargs);
    assert.deepEqual([first.hits, first.misses], [0, 2], first.lines.filter((l) => /cache|STEP/.test(l)).join('\n'));
    assert.ok(!first.lines.some((l) => /not cached/.test(l)));
    const again = await buildWith(bargs);
    assert.deepEqual([again.hits, again.misses], [2, 0], 'the RUN with bind mounts hits');
    assert.equal(again.digest, first.digest);
    fs.writeFileSync(path.join(bctx, 'ignored.log'), 'noise 2\n');
    assert.deepEqual((await buildWith(bargs)).hits, 2, 'a file .dockerignore leaves out changes no key');
    fs.writeFileSync(path.join(bctx, 'dep.txt'), 'v2\n');
    const changed = await buildWith(bargs);
    assert.deepEqual([changed.hits, changed.misses], [1, 1], 'a changed bound file misses the RUN');
    assert.notEqual(changed.digest, first.digest);
    const { rootfs } = umociUnpack(path.join(work, 'out'), 'latest');
    assert.equal(fs.readFileSync(path.join(rootfs, 'out.txt'), 'utf8'), 'v2\ntool\n');
    fs.rmSync(bctx, { recursive: true, force: true });
  });

  it('--ignore-path and --ignore-var-run are in the key: a RUN layer made without a path is not reused where it belongs', async () => {
    const ictx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest`,
        'RUN mkdir -p /opt/x /var/run/svc && echo x > /opt/x/f && echo s > /var/run/svc/pid && echo y > /y',
      ].join('\n') + '\n',
    });
    const repo = `oci:${path.join(work, 'ignore-cache')}`;
    const iargs = (extra: string[]) => [...args(repo), '--context', ictx, ...extra];
    const ignored = await buildWith(iargs(['--ignore-path=/opt/x']));
    assert.deepEqual([ignored.hits, ignored.misses], [0, 1]);
    const full = await buildWith(iargs(['--ignore-var-run=false']));
    assert.deepEqual([full.hits, full.misses], [0, 1], 'no hit from a build that ignored other paths');
    const { rootfs } = umociUnpack(path.join(work, 'out'), 'latest');
    assert.equal(fs.readFileSync(path.join(rootfs, 'opt/x/f'), 'utf8'), 'x\n');
    assert.equal(fs.readFileSync(path.join(rootfs, 'var/run/svc/pid'), 'utf8'), 's\n');
    assert.deepEqual((await buildWith(iargs(['--ignore-var-run=false']))).hits, 1, 'the same paths hit');
    fs.rmSync(ictx, { recursive: true, force: true });
  });

  it('--compression auto: a --no-push-cache build gives the same image whatever the cache holds', async () => {
    const shared = `oci:${path.join(work, 'auto-shared')}`;
    const stored = await buildWith(args(shared));
    assert.deepEqual(stored.misses, 3, 'entries stored (gzip layers: the cache is written)');
    const readOnly = await buildWith(args(shared, ['--no-push-cache']));
    const fresh = await buildWith(args(`oci:${path.join(work, 'auto-fresh')}`, ['--no-push-cache']));
    assert.equal(readOnly.digest, fresh.digest, 'cached gzip layers were not mixed into an uncompressed build');
    const gzip = await buildWith(args(shared, ['--no-push-cache', '--compression=gzip']));
    assert.deepEqual([gzip.hits, gzip.misses], [3, 0], 'with the compression the entries were made with, they hit');
    assert.equal(gzip.digest, stored.digest);
  });

  /** Every blob of the OCI layout `dir` hashes to its name (what skopeo checks). */
  function assertBlobsValid(dir: string): void {
    const root = path.join(dir, 'blobs', 'sha256');
    for (const hex of fs.readdirSync(root)) {
      assert.equal(createHash('sha256').update(fs.readFileSync(path.join(root, hex))).digest('hex'), hex, `blob ${hex} of ${dir}`);
    }
  }
  /** Flip the last byte of a blob in place (as a disk error would; hard links see it too). */
  function corrupt(blob: string): void {
    fs.chmodSync(blob, 0o644);
    const fd = fs.openSync(blob, 'r+');
    const { size } = fs.fstatSync(fd);
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, size - 1);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, size - 1);
    fs.closeSync(fd);
  }

  it('a damaged layer blob in an oci: cache is rebuilt, stored again, and never reaches the output', async () => {
    const dir = path.join(work, 'damaged-cache');
    const first = await buildWith(args(`oci:${dir}`));
    const out = path.join(work, 'out');
    const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    // the RUN layer (second to last of the image) and the last COPY layer
    for (const l of manifest.layers.slice(-2)) corrupt(path.join(dir, 'blobs', 'sha256', l.digest.slice(7)));
    fs.rmSync(out, { recursive: true, force: true });
    const again = await buildWith(args(`oci:${dir}`));
    assert.deepEqual([again.hits, again.misses], [1, 2], again.lines.filter((l) => /cache|damaged/.test(l)).join('\n'));
    assert.ok(again.lines.some((l) => /is damaged .*treated as a cache miss/.test(l)));
    assert.equal(again.digest, first.digest);
    assertBlobsValid(out);
    const third = await buildWith(args(`oci:${dir}`));
    assert.deepEqual([third.hits, third.misses], [3, 0], 'the entries were stored again');
    assert.equal(third.digest, first.digest);
    assertBlobsValid(out);
  });

  it('a damaged layer of a warmed --cache-dir base is pulled instead', async () => {
    const cacheDir = path.join(work, 'damaged-bases');
    assert.equal(await warmMain(['-i', `${reg.host}/library/busybox:latest`, '-c', cacheDir, '--custom-platform', 'linux/amd64']), 0);
    const repo = `oci:${path.join(work, 'damaged-bases-cache')}`;
    const plain = await buildWith(args(repo, ['--cache-copy-layers=false', '--cache-run-layers=false']));
    const layers = fs.readdirSync(path.join(cacheDir, 'blobs', 'sha256')).map((h) => path.join(cacheDir, 'blobs', 'sha256', h)).filter((f) => fs.statSync(f).size > 100000);
    assert.ok(layers.length > 0);
    for (const f of layers) corrupt(f);
    const r = await buildWith(args(repo, ['--cache-dir', cacheDir, '--cache-copy-layers=false', '--cache-run-layers=false']));
    assert.ok(r.lines.some((l) => /cached base image .* is damaged .*pulling instead/.test(l)), r.lines.join('\n'));
    assert.ok(!r.lines.some((l) => /using cached base image/.test(l)));
    assert.equal(r.digest, plain.digest);
    assertBlobsValid(path.join(work, 'out'));
  });

  it('--no-push-cache reads but does not write; --cache-dir bases keep the keys', async () => {
    const repo = `oci:${path.join(work, 'ro-cache')}`;
    const ro = await buildWith(args(repo, ['--no-push-cache']));
    assert.deepEqual([ro.hits, ro.misses], [0, 3]);
    assert.deepEqual((await buildWith(args(repo, ['--no-push-cache']))).hits, 0);
    const first = await buildWith(args(repo));
    const cacheDir = path.join(work, 'bases');
    assert.equal(await warmMain(['-i', `${reg.host}/library/busybox:latest`, '-c', cacheDir, '--custom-platform', 'linux/amd64']), 0);
    const warm = await buildWith(args(repo, ['--cache-dir', cacheDir]));
    assert.ok(warm.lines.some((l) => /using cached base image/.test(l)), 'the base came from the cache dir');
    assert.deepEqual([warm.hits, warm.misses], [3, 0]);
    assert.equal(warm.digest, first.digest);
  });
});
