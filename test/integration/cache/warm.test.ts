// `drydock warm` against a real registry: busybox (Docker schema2, OCI, multi-platform index) into a
// cache dir, then read back with lookupCachedBase. The cache dir is an OCI layout that skopeo
// reads; a base from the cache has the same manifest digest as the same base from the registry
// (layer cache keys chain from it).
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lookupCachedBase, lookupCachedBaseFor, warmBaseImage } from '../../../src/build/cache/base-cache';
import { resolveBaseImage } from '../../../src/build/base-image';
import { BlobStore } from '../../../src/build/blob-store';
import { main as warmMain, dockerfileBaseImages } from '../../../src/cli/warm';
import { parsePlatform } from '../../../src/image/platform';
import { parseReference } from '../../../src/image/reference';
import { RegistryClient } from '../../../src/registry';
import { pushBaseImages, run, skopeoOpts, startRegistry, tmpDir, type Registry } from '../../support/testbed';

const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return 'sha256:' + h.digest('hex');
}

describe('drydock warm and the base image cache (--cache-dir)', function () {
  this.timeout(180000);
  let reg: Registry;
  let work: string;
  let client: RegistryClient;

  before(async () => {
    reg = await startRegistry('plain');
    await pushBaseImages(reg);
    work = tmpDir('drydock-warm-');
    client = new RegistryClient({ retryBaseDelayMs: 10 });
  });
  after(async () => {
    await client?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('warms busybox into the cache dir; lookupCachedBase reads it with the registry digest', async () => {
    const cacheDir = path.join(work, 'cache1');
    const image = `${reg.host}/library/busybox:latest`;
    assert.equal(await warmMain(['--image', image, '--cache-dir', cacheDir, '--custom-platform', 'linux/amd64']), 0);
    const ref = parseReference(image);
    const cached = await lookupCachedBase(cacheDir, ref, amd64);
    assert.ok(cached, 'expected the warmed image');
    const inspected = JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${image}`]));
    assert.equal(cached.digest, inspected.Digest);
    assert.deepEqual(cached.image.layers.map((l) => l.descriptor.digest), inspected.Layers);
    assert.equal(cached.ref?.toString(), `${image}@${inspected.Digest}`);
    for (const l of cached.image.layers) assert.equal(await sha256Of(await l.open()), l.descriptor.digest);
    assert.deepEqual(cached.image.layers[0].origin, { registry: reg.host, repository: 'library/busybox' });

    const online = await resolveBaseImage(image, amd64, client, new BlobStore(path.join(work, 'blobs')), 'Dockerfile:1');
    assert.equal(cached.digest, online.digest, 'same manifest digest from the cache and from the registry');
    assert.deepEqual(cached.image.config, online.image.config);
    assert.equal(cached.image.manifestMediaType, online.image.manifestMediaType);

    // by digest, too; another platform or image is a miss
    assert.equal((await lookupCachedBase(cacheDir, ref.withDigest(inspected.Digest), amd64))?.digest, inspected.Digest);
    assert.equal(await lookupCachedBase(cacheDir, ref, arm64), undefined);
    assert.equal(await lookupCachedBase(cacheDir, parseReference(`${reg.host}/library/busybox:oci`), amd64), undefined);
    assert.equal(await lookupCachedBase(path.join(work, 'no-such-dir'), ref, amd64), undefined);
  });

  it('skips cached images unless --force, and expires them by the cache TTL', async () => {
    const cacheDir = path.join(work, 'cache2');
    const ref = parseReference(`${reg.host}/library/busybox:oci`);
    const first = await warmBaseImage(cacheDir, client, ref, amd64);
    assert.equal(first.fetched, true);
    assert.equal((await warmBaseImage(cacheDir, client, ref, amd64)).fetched, false);
    const [alg, hex] = first.digest.split(':');
    const layer = (await lookupCachedBase(cacheDir, ref, amd64))!.image.layers[0].descriptor.digest.split(':');
    fs.rmSync(path.join(cacheDir, 'blobs', layer[0], layer[1]));
    assert.equal(await lookupCachedBase(cacheDir, ref, amd64), undefined, 'an incomplete entry is a miss');
    assert.equal((await warmBaseImage(cacheDir, client, ref, amd64)).fetched, true, 'an incomplete entry is fetched again');
    assert.equal((await warmBaseImage(cacheDir, client, ref, amd64, { force: true })).fetched, true);
    assert.ok(fs.existsSync(path.join(cacheDir, 'blobs', alg, hex)));
    const index = JSON.parse(fs.readFileSync(path.join(cacheDir, 'index.json'), 'utf8'));
    assert.equal(index.manifests.length, 1, 'warming again replaces the entry');

    assert.ok(await lookupCachedBase(cacheDir, ref, amd64, { ttlSeconds: 3600 }));
    assert.equal(await lookupCachedBase(cacheDir, ref, amd64, { ttlSeconds: 3600, now: () => new Date(Date.now() + 2 * 3600 * 1000) }), undefined);

    // the cache dir is a plain OCI layout: skopeo reads the OCI entry by its reference
    const inspected = JSON.parse(run('skopeo', ['inspect', `oci:${cacheDir}:${ref.toString()}`]));
    assert.equal(inspected.Digest, first.digest);
  });

  it('lookupCachedBaseFor serves a tag from the cache only while the registry still names that digest', async () => {
    const cacheDir = path.join(work, 'cache5');
    const moving = `${reg.host}/drydock/moving:v1`;
    const copy = (from: string) => run('skopeo', ['copy', '-q', ...skopeoOpts(reg, 'src-'), ...skopeoOpts(reg, 'dest-'), `docker://${reg.host}/library/busybox:${from}`, `docker://${moving}`]);
    copy('latest');
    assert.equal(await warmMain(['-i', moving, '-c', cacheDir, '--custom-platform', 'linux/amd64']), 0);
    const ref = parseReference(moving);
    const hit = await lookupCachedBaseFor(cacheDir, ref, amd64, client);
    assert.ok(hit);
    copy('oci'); // the tag moves to another manifest
    assert.equal(await lookupCachedBaseFor(cacheDir, ref, amd64, client), undefined, 'a moved tag is not served stale');
    assert.ok(await lookupCachedBase(cacheDir, ref, amd64), 'the warmed entry itself is still there');
    assert.equal((await lookupCachedBaseFor(cacheDir, ref.withDigest(hit.digest!), amd64, client))?.digest, hit.digest, 'by digest, no registry needed');
  });

  it('keeps one entry per platform of a multi-platform image, found by tag or index digest', async () => {
    const cacheDir = path.join(work, 'cache3');
    const image = `${reg.host}/library/busybox:multiarch`;
    assert.equal(await warmMain(['-i', image, '-c', cacheDir, '--customPlatform', 'linux/arm64']), 0);
    assert.equal(await warmMain(['-i', image, '-c', cacheDir, '--custom-platform', 'linux/amd64']), 0);
    const ref = parseReference(image);
    const a = await lookupCachedBase(cacheDir, ref, amd64);
    const b = await lookupCachedBase(cacheDir, ref, arm64);
    assert.ok(a && b);
    assert.notEqual(a.digest, b.digest);
    assert.equal(b.image.config.architecture, 'arm64');
    const indexDigest = JSON.parse(run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${image}`]));
    assert.equal(indexDigest.manifests.length, 2);
    const top = 'sha256:' + createHash('sha256').update(run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${image}`])).digest('hex');
    assert.equal((await lookupCachedBase(cacheDir, ref.withDigest(top), arm64))?.digest, b.digest);
  });

  it('warms the FROM images of a Dockerfile and reports bad input clearly', async () => {
    const df = path.join(work, 'Dockerfile');
    fs.writeFileSync(df, `ARG BASE=${reg.host}/library/busybox\nFROM \${BASE}:latest AS build\nFROM build\nFROM scratch\nFROM ${reg.host}/library/busybox:oci\n`);
    assert.deepEqual(dockerfileBaseImages(df, {}), [`${reg.host}/library/busybox:latest`, `${reg.host}/library/busybox:oci`]);
    assert.deepEqual(dockerfileBaseImages(df, { BASE: 'other/img' }), ['other/img:latest', `${reg.host}/library/busybox:oci`]);
    const cacheDir = path.join(work, 'cache4');
    assert.equal(await warmMain(['--dockerfile', df, '--cache-dir', cacheDir, '--custom-platform', 'linux/amd64']), 0);
    assert.ok(await lookupCachedBase(cacheDir, parseReference(`${reg.host}/library/busybox:oci`), amd64));
    await assert.rejects(warmMain(['--cache-dir', cacheDir]), /nothing to fetch/);
    await assert.rejects(warmMain(['--image', 'Bad Image', '--cache-dir', cacheDir]), /invalid --image "Bad Image"/);
    await assert.rejects(warmMain(['--image', `${reg.host}/library/nope:latest`, '--cache-dir', cacheDir]), /library\/nope/);
    await assert.rejects(warmMain(['--bogus']), /unknown option '--bogus'/);
  });
});
