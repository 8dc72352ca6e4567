// `executor push` / `drydock push`: an image built with --no-push into an OCI layout or a
// docker-archive tarball is pushed later, to a real registry, and read back with skopeo and umoci.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext, runExecutor, umociUnpack } from '../../support/executor';
import { pushBaseImages, run, skopeoOpts, startRegistry, tmpDir, type Registry } from '../../support/testbed';

describe('pushing a stored image (executor push)', function () {
  this.timeout(120000);
  let reg: Registry;
  let layout: string;
  let tarball: string;
  let layoutDigest: string;
  before(async () => {
    reg = await startRegistry('plain');
    await pushBaseImages(reg);
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo built > /built.txt\nCMD ["cat", "/built.txt"]\n` });
    layout = tmpDir('drydock-layout-');
    tarball = path.join(tmpDir('drydock-tar-'), 'image.tar');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, '--tar-path', tarball, '-d', `${reg.host}/built/app:1`]);
    assert.equal(r.code, 0, r.stderr);
    layoutDigest = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')).manifests[0].digest;
  });

  const inspect = (ref: string) => JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${ref}`]));

  it('pushes an OCI layout as it is: the registry holds the same manifest digest', async () => {
    const digestFile = path.join(tmpDir(), 'digest');
    const r = await runExecutor(['push', layout, '-d', `${reg.host}/pushed/oci:1`, '-d', `${reg.host}/pushed/oci:2`, '--digest-file', digestFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(digestFile, 'utf8'), layoutDigest);
    for (const tag of ['1', '2']) assert.equal(inspect(`${reg.host}/pushed/oci:${tag}`).Digest, layoutDigest);
  });

  it('pushes a docker-archive tarball (drydock push), its plain layers gzipped, read back by umoci', async () => {
    const nameFile = path.join(tmpDir(), 'names');
    const r = await runExecutor(['push', tarball, '-d', `${reg.host}/pushed/tar:1`, '--image-name-with-digest-file', nameFile], { bin: 'drydock' });
    assert.equal(r.code, 0, r.stderr);
    const digest = inspect(`${reg.host}/pushed/tar:1`).Digest;
    assert.equal(fs.readFileSync(nameFile, 'utf8'), `${reg.host}/pushed/tar@${digest}\n`);
    const raw = JSON.parse(run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${reg.host}/pushed/tar:1`]));
    assert.ok(raw.layers.every((l: { mediaType: string }) => l.mediaType.endsWith('gzip')), JSON.stringify(raw.layers));
    const oci = tmpDir('drydock-oci-');
    run('skopeo', ['copy', ...skopeoOpts(reg, 'src-'), `docker://${reg.host}/pushed/tar:1`, `oci:${oci}:x`]);
    const { rootfs, config } = umociUnpack(oci, 'x');
    assert.equal(fs.readFileSync(path.join(rootfs, 'built.txt'), 'utf8'), 'built\n');
    assert.deepEqual(config.process.args, ['cat', '/built.txt']);

    // a tarball whose layers are gzipped already: pushed as they are (each checked through gunzip)
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo gz > /gz.txt\n` });
    const gzTar = path.join(tmpDir('drydock-tar-'), 'gz.tar');
    const built = await runExecutor(['-c', ctx, '--no-push', '--compression', 'gzip', '--tar-path', gzTar]);
    assert.equal(built.code, 0, built.stderr);
    const pushed = await runExecutor(['push', gzTar, '-d', `${reg.host}/pushed/gz:1`]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const members = run('tar', ['-tf', gzTar]).split('\n').filter((n) => n.endsWith('.tar.gz')).map((n) => `sha256:${n.replace(/\.tar\.gz$/, '')}`).sort();
    const gzRaw = JSON.parse(run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${reg.host}/pushed/gz:1`]));
    assert.deepEqual(gzRaw.layers.map((l: { digest: string }) => l.digest).sort(), members, 'the blobs of the tarball, unchanged');
  });

  it('a layout with several images needs DIR:REF; bad input fails clearly and pushes no manifest', async () => {
    const two = tmpDir('drydock-layout-');
    for (const tag of ['a', 'b']) {
      const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo ${tag} > /tag\n` });
      const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', two, '-d', `${reg.host}/x/y:${tag}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    const several = await runExecutor(['push', two, '-d', `${reg.host}/pushed/two:1`]);
    assert.equal(several.code, 1);
    assert.match(several.stderr, /holds 2 images \(a, b\): name one as .*:REF/);
    const chosen = await runExecutor(['push', `${two}:b`, '-d', `${reg.host}/pushed/two:b`]);
    assert.equal(chosen.code, 0, chosen.stderr);

    const missing = await runExecutor(['push', '/nonexistent/image.tar', '-d', `${reg.host}/pushed/none:1`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\/nonexistent\/image\.tar does not exist: expected an OCI layout directory/);
    const noDest = await runExecutor(['push', layout]);
    assert.equal(noDest.code, 2);
    assert.match(noDest.stderr, /no --destination given/);

    // a tarball whose layer does not match the config's diff_ids
    const bad = path.join(tmpDir('drydock-badtar-'), 'bad.tar');
    const dir = tmpDir('drydock-badtar-src-');
    run('tar', ['-xf', tarball, '-C', dir]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    fs.appendFileSync(path.join(dir, manifest[0].Layers.at(-1)), Buffer.alloc(1024));
    run('tar', ['-cf', bad, '-C', dir, '.']);
    const corrupt = await runExecutor(['push', bad, '-d', `${reg.host}/pushed/bad:1`]);
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /layer 2 \(.*\) of .*bad\.tar: its content hashes to sha256:[0-9a-f]{64}, the config says sha256:[0-9a-f]{64}/);
    assert.throws(() => inspect(`${reg.host}/pushed/bad:1`), 'no manifest was pushed');
  });
});
