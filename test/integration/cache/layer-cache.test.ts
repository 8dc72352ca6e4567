// The layer cache backends against real storage: a Debian docker-registry on loopback for
// --cache-repo host/repo, a temporary directory for --cache-repo oci:PATH. Entries are checked
// with skopeo (an independent reader), TTL expiry with a clock moved forward.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RegistryLayerCache } from '../../../src/build/cache/registry-cache';
import { OciLayoutLayerCache } from '../../../src/build/cache/oci-cache';
import { openLayerCache } from '../../../src/build/cache/open';
import { cacheKey } from '../../../src/build/cache/key';
import type { LayerCache } from '../../../src/build/cache/types';
import { defaultBuildOptions } from '../../../src/build/options';
import { BlobStore } from '../../../src/build/blob-store';
import { writeLayer } from '../../../src/fs/layer-writer';
import type { Layer } from '../../../src/image/image';
import * as mt from '../../../src/image/mediatypes';
import { parseReference } from '../../../src/image/reference';
import { RegistryClient } from '../../../src/registry';
import { pushBaseImages, run, skopeoOpts, startRegistry, tmpDir, type Registry } from '../../support/testbed';

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return 'sha256:' + h.digest('hex');
}

/** A real layer written by our layer writer, with unique content. */
async function makeLayer(dir: string, text: string): Promise<Layer> {
  const file = path.join(dir, `layer-${createHash('sha256').update(text).digest('hex').slice(0, 8)}.tar.gz`);
  const w = await writeLayer([
    { path: 'app', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) },
    { path: 'app/hello.txt', type: 'file', content: Buffer.from(text), mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) },
  ], file, { compression: 'gzip', reproducible: true });
  return {
    descriptor: { mediaType: mt.DOCKER_LAYER_GZIP, digest: w.digest, size: w.size },
    diffId: w.diffId,
    open: async () => fs.createReadStream(file),
  };
}

const key = (s: string) => cacheKey({ parent: 'test', instruction: `RUN ${s} ${process.pid} ${Date.now()}`, args: {}, env: [] });
const HOUR = 3600 * 1000;
const later = (ms: number) => () => new Date(Date.now() + ms);

/** The behaviour every backend shares. */
function sharedBehaviour(make: (o: { ttlSeconds: number; now?: () => Date }) => Promise<LayerCache>, dir: () => string): void {
  it('misses an unknown key, hits after put with the same blob, diffId and history', async () => {
    const cache = await make({ ttlSeconds: 3600 });
    const k = key('a');
    assert.equal(await cache.get(k), undefined);
    const layer = await makeLayer(dir(), `a ${k}`);
    await cache.put(k, layer, { history: { created_by: 'RUN a', created: '1970-01-01T00:00:00Z', comment: 'drydock' }, platform: { os: 'linux', architecture: 'amd64' } });
    const hit = await cache.get(k);
    assert.ok(hit, 'expected a hit after put');
    assert.equal(hit.key, k);
    assert.equal(hit.layer.diffId, layer.diffId);
    assert.equal(hit.layer.descriptor.digest, layer.descriptor.digest);
    assert.equal(hit.layer.descriptor.size, layer.descriptor.size);
    assert.equal(hit.history.created_by, 'RUN a');
    assert.ok(Math.abs(hit.stored.getTime() - Date.now()) < 60000, 'stored is the wall-clock time of the put');
    assert.equal(await sha256Of(await hit.layer.open()), layer.descriptor.digest);
    assert.equal(await cache.get(key('other')), undefined);
  });

  it('replaces an entry put again under the same key', async () => {
    const cache = await make({ ttlSeconds: 3600 });
    const k = key('b');
    await cache.put(k, await makeLayer(dir(), `b1 ${k}`), { history: { created_by: 'RUN b' } });
    const second = await makeLayer(dir(), `b2 ${k}`);
    await cache.put(k, second, { history: { created_by: 'RUN b' } });
    assert.equal((await cache.get(k))?.layer.descriptor.digest, second.descriptor.digest);
  });

  it('honours the TTL by the time the entry was stored', async () => {
    const writer = await make({ ttlSeconds: 3600 });
    const k = key('ttl');
    await writer.put(k, await makeLayer(dir(), `ttl ${k}`), { history: { created_by: 'RUN ttl' } });
    assert.ok(await (await make({ ttlSeconds: 3600, now: later(HOUR - 60000) })).get(k), 'still fresh just before the TTL');
    assert.equal(await (await make({ ttlSeconds: 3600, now: later(HOUR + 60000) })).get(k), undefined, 'expired after the TTL');
    assert.equal(await (await make({ ttlSeconds: 0, now: later(1000) })).get(k), undefined, 'a zero TTL never hits');
  });
}

describe('layer cache in a registry repository (--cache-repo host/repo)', function () {
  this.timeout(120000);
  let reg: Registry;
  let client: RegistryClient;
  let work: string;

  before(async () => {
    reg = await startRegistry('plain');
    client = new RegistryClient({ retryBaseDelayMs: 10 });
    work = tmpDir('drydock-cache-reg-');
  });
  after(async () => {
    await client?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const repo = () => parseReference(`${reg.host}/drydock/layer-cache`);
  sharedBehaviour(async (o) => new RegistryLayerCache(repo(), client, o), () => work);

  it('stores kaniko-style one-layer images tagged with the key, readable by skopeo', async () => {
    const cache = new RegistryLayerCache(repo(), client, { ttlSeconds: 3600 });
    const k = key('skopeo');
    const layer = await makeLayer(work, `skopeo ${k}`);
    await cache.put(k, layer, { history: { created_by: 'COPY . /app' } });
    const inspected = JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${reg.host}/drydock/layer-cache:${k}`]));
    assert.deepEqual(inspected.Layers, [layer.descriptor.digest]);
    assert.equal(inspected.Labels['org.drydock.cache'], 'layer-v1');
    assert.equal(inspected.Labels['org.drydock.cache.key'], k);
    const config = JSON.parse(run('skopeo', ['inspect', '--config', ...skopeoOpts(reg), `docker://${reg.host}/drydock/layer-cache:${k}`]));
    assert.deepEqual(config.rootfs.diff_ids, [layer.diffId]);
    assert.equal(config.history[0].created_by, 'COPY . /app');
  });

  it('downloads a hit layer once into the build blob store and remembers where it lives', async () => {
    const blobs = new BlobStore(path.join(work, 'blobs'));
    const k = key('blobs');
    const layer = await makeLayer(work, `blobs ${k}`);
    await new RegistryLayerCache(repo(), client, { ttlSeconds: 3600 }).put(k, layer, { history: {} });
    const hit = await new RegistryLayerCache(repo(), client, { ttlSeconds: 3600, blobs }).get(k);
    assert.ok(hit);
    assert.deepEqual(hit.layer.origin, { registry: reg.host, repository: 'drydock/layer-cache' });
    assert.equal(blobs.has(layer.descriptor.digest), false, 'nothing downloaded before open()');
    assert.equal(await sha256Of(await hit.layer.open()), layer.descriptor.digest);
    assert.equal(blobs.has(layer.descriptor.digest), true);
  });

  it('an entry whose layer blob was deleted from the registry is a miss, and the next put repairs it', async () => {
    const cache = new RegistryLayerCache(repo(), client, { ttlSeconds: 3600 });
    const k = key('deleted layer');
    const layer = await makeLayer(work, `deleted layer ${k}`);
    await cache.put(k, layer, { history: {} });
    const res = await fetch(`http://${reg.host}/v2/drydock/layer-cache/blobs/${layer.descriptor.digest}`, { method: 'DELETE' });
    assert.equal(res.status, 202, 'the test registry deletes the blob');
    assert.equal(await cache.get(k), undefined, 'no hit on a layer the registry no longer has');
    await cache.put(k, layer, { history: {} });
    const hit = await new RegistryLayerCache(repo(), client, { ttlSeconds: 3600 }).get(k);
    assert.ok(hit, 'hit again once stored again');
    assert.equal(await sha256Of(await hit.layer.open()), layer.descriptor.digest);
  });

  it('ignores a foreign image under a key-shaped tag', async () => {
    await pushBaseImages(reg);
    const k = key('foreign');
    run('skopeo', ['copy', '-q', ...skopeoOpts(reg, 'src-'), ...skopeoOpts(reg, 'dest-'), `docker://${reg.host}/library/busybox:latest`, `docker://${reg.host}/drydock/layer-cache:${k}`]);
    assert.equal(await new RegistryLayerCache(repo(), client, { ttlSeconds: 3600 }).get(k), undefined);
  });

  it('openLayerCache: off without --cache, infers <destination>/cache, --no-push-cache never writes', async () => {
    const d = defaultBuildOptions();
    assert.equal(openLayerCache({ ...d }, client), null);
    assert.equal(openLayerCache({ ...d, cache: true, singleSnapshot: true, cacheRepo: `${reg.host}/c` }, client), null);
    const inferred = openLayerCache({ ...d, cache: true, destinations: [`${reg.host}/team/app:1.0`] }, client);
    assert.ok(inferred instanceof RegistryLayerCache);
    assert.equal(inferred.repo.name(), `${reg.host}/team/app/cache`);
    assert.equal(openLayerCache({ ...d, cache: true, noPush: true }, client), null, 'nothing to infer from');
    assert.throws(() => openLayerCache({ ...d, cache: true, cacheRepo: `${reg.host}/c:v1` }, client), /without a tag or digest/);
    assert.throws(() => openLayerCache({ ...d, cache: true, cacheRepo: 'oci:' }, client), /expected oci:PATH/);
    assert.throws(() => openLayerCache({ ...d, cache: true, cacheRepo: 'Bad Repo' }, client), /invalid --cache-repo "Bad Repo"/);

    const ro = openLayerCache({ ...d, cache: true, cacheRepo: `${reg.host}/drydock/layer-cache`, noPushCache: true }, client);
    assert.ok(ro);
    const k = key('ro');
    await ro.put(k, await makeLayer(work, `ro ${k}`), { history: {} });
    assert.equal(await ro.get(k), undefined, '--no-push-cache stored nothing');
    const rw = new RegistryLayerCache(repo(), client, { ttlSeconds: 3600 });
    await rw.put(k, await makeLayer(work, `ro ${k}`), { history: {} });
    assert.ok(await ro.get(k), '--no-push-cache still reads');
  });
});

describe('layer cache in an OCI layout (--cache-repo oci:PATH)', function () {
  this.timeout(60000);
  let work: string;
  let dir: string;
  before(() => {
    work = tmpDir('drydock-cache-oci-');
    dir = path.join(work, 'cache');
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  sharedBehaviour(async (o) => new OciLayoutLayerCache(dir, o), () => work);

  it('is a valid OCI layout with the key as ref name (skopeo reads it)', async () => {
    const cache = openLayerCache({ ...defaultBuildOptions(), cache: true, cacheRepo: `oci:${dir}` }, new RegistryClient());
    assert.ok(cache instanceof OciLayoutLayerCache);
    const k = key('oci');
    const layer = await makeLayer(work, `oci ${k}`);
    await cache.put(k, layer, { history: { created_by: 'RUN oci' } });
    const inspected = JSON.parse(run('skopeo', ['inspect', `oci:${dir}:${k}`]));
    assert.deepEqual(inspected.Layers, [layer.descriptor.digest]);
    assert.equal(inspected.Labels['org.drydock.cache.key'], k);
  });

  it('keeps every entry when puts run concurrently', async () => {
    const cache = new OciLayoutLayerCache(dir, { ttlSeconds: 3600 });
    const keys = [1, 2, 3, 4, 5].map((i) => key(`c${i}`));
    await Promise.all(keys.map(async (k) => cache.put(k, await makeLayer(work, `c ${k}`), { history: {} })));
    for (const k of keys) assert.ok(await cache.get(k), `entry ${k} kept`);
  });

  /** Overwrite a blob of the layout `dir` (blobs may be read-only). */
  function damage(digest: string, edit: (b: Buffer) => Buffer): string {
    const [alg, hex] = digest.split(':');
    const blob = path.join(dir, 'blobs', alg, hex);
    fs.chmodSync(blob, 0o644);
    fs.writeFileSync(blob, edit(fs.readFileSync(blob)));
    return blob;
  }
  const flipLast = (b: Buffer) => { b[b.length - 1] ^= 0xff; return b; };

  for (const [how, edit] of [['a flipped byte', flipLast], ['truncated', (b: Buffer) => b.subarray(0, b.length - 10)]] as const) {
    it(`a damaged layer blob (${how}) is a miss, removed, and repaired by the next put`, async () => {
      const cache = new OciLayoutLayerCache(dir, { ttlSeconds: 3600 });
      const k = key(`damaged ${how}`);
      const layer = await makeLayer(work, `damaged ${how} ${k}`);
      await cache.put(k, layer, { history: {} });
      const blob = damage(layer.descriptor.digest, edit);
      assert.equal(await new OciLayoutLayerCache(dir, { ttlSeconds: 3600 }).get(k), undefined, 'a damaged layer is never a hit');
      assert.equal(fs.existsSync(blob), false, 'the damaged blob is removed');
      await cache.put(k, layer, { history: {} });
      const hit = await new OciLayoutLayerCache(dir, { ttlSeconds: 3600 }).get(k);
      assert.ok(hit, 'hit again after the step was stored again');
      assert.equal(await sha256Of(fs.createReadStream(hit.layer.localFile!)), layer.descriptor.digest, 'the file outputs link is the right one');
    });
  }

  it('a damaged config blob is a miss and the next put repairs it', async () => {
    const cache = new OciLayoutLayerCache(dir, { ttlSeconds: 3600 });
    const k = key('damaged config');
    const layer = await makeLayer(work, `damaged config ${k}`);
    await cache.put(k, layer, { history: {} });
    const [desc] = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')).manifests.filter((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === k);
    const [malg, mhex] = desc.digest.split(':');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'blobs', malg, mhex), 'utf8'));
    damage(manifest.config.digest, flipLast);
    assert.equal(await cache.get(k), undefined);
    await cache.put(k, layer, { history: {} });
    assert.ok(await cache.get(k));
  });
});
