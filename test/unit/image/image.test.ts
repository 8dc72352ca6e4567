// Image values: every edit returns a new image and leaves the old one as it was; serialization
// gives the exact bytes whose digests name config and manifest, in the image's family.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { appendHistory, appendLayer, editConfig, emptyImage, imageSize, serializeImage, type Image, type Layer } from '../../../src/image/image';
import * as mt from '../../../src/image/mediatypes';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const fakeDigest = (c: string) => 'sha256:' + c.repeat(64);

function layer(c: string, mediaType = mt.DOCKER_LAYER_GZIP, extra: Partial<Layer['descriptor']> = {}): Layer {
  return {
    descriptor: { mediaType, digest: fakeDigest(c), size: 100 + c.charCodeAt(0), ...extra },
    diffId: fakeDigest('d'),
    open: async () => Readable.from([]),
  };
}

const amd64 = { os: 'linux', architecture: 'amd64' };

describe('image/image', () => {
  it('emptyImage: a config with no layers for the platform; variant only when given', () => {
    const img = emptyImage(amd64);
    assert.equal(img.manifestMediaType, mt.DOCKER_MANIFEST);
    assert.deepEqual(img.config, { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] });
    assert.deepEqual(img.layers, []);
    const arm = emptyImage({ os: 'linux', architecture: 'arm', variant: 'v7' }, mt.OCI_MANIFEST);
    assert.equal(arm.config.variant, 'v7');
    assert.equal(arm.manifestMediaType, mt.OCI_MANIFEST);
    assert.ok(!('variant' in img.config));
  });

  describe('immutability', () => {
    it('appendLayer adds layer, diff id and a history entry without empty_layer; the old image is unchanged', () => {
      const a = emptyImage(amd64);
      const l1 = { ...layer('a'), diffId: fakeDigest('1') };
      const b = appendLayer(a, l1, { created: '2020-01-01T00:00:00Z', created_by: 'COPY x /x', empty_layer: true, comment: undefined });
      assert.notEqual(b, a);
      assert.deepEqual(a.layers, []);
      assert.deepEqual(a.config.rootfs.diff_ids, []);
      assert.deepEqual(a.config.history, []);
      assert.deepEqual(b.layers, [l1]);
      assert.deepEqual(b.config.rootfs.diff_ids, [fakeDigest('1')]);
      assert.deepEqual(b.config.history, [{ created: '2020-01-01T00:00:00Z', created_by: 'COPY x /x' }]);
      const l2 = { ...layer('b'), diffId: fakeDigest('2') };
      const c = appendLayer(b, l2, { created_by: 'RUN y' });
      assert.deepEqual(b.config.rootfs.diff_ids, [fakeDigest('1')]);
      assert.equal(b.layers.length, 1);
      assert.deepEqual(c.config.rootfs.diff_ids, [fakeDigest('1'), fakeDigest('2')]);
      assert.deepEqual(c.layers.map((l) => l.descriptor.digest), [fakeDigest('a'), fakeDigest('b')]);
    });

    it('appendHistory records an empty layer and strips undefined fields', () => {
      const a = emptyImage(amd64);
      const b = appendHistory(a, { created_by: 'ENV A=1', comment: undefined, author: 'me' });
      assert.deepEqual(b.config.history, [{ created_by: 'ENV A=1', author: 'me', empty_layer: true }]);
      assert.deepEqual(a.config.history, []);
      assert.equal(b.layers, a.layers);
      assert.ok(!serializeImage(b).configBody.toString().includes('comment'));
    });

    it('editConfig edits a deep copy: arrays and maps of the old image stay as they were', () => {
      const a = editConfig(emptyImage(amd64), (c) => {
        c.Env = ['PATH=/bin'];
        c.Labels = { a: '1' };
      });
      const b = editConfig(a, (c, file) => {
        c.Env!.push('X=1');
        c.Labels!.b = '2';
        file.author = 'someone';
      });
      assert.deepEqual(a.config.config?.Env, ['PATH=/bin']);
      assert.deepEqual(a.config.config?.Labels, { a: '1' });
      assert.equal(a.config.author, undefined);
      assert.deepEqual(b.config.config?.Env, ['PATH=/bin', 'X=1']);
      assert.deepEqual(b.config.config?.Labels, { a: '1', b: '2' });
      assert.equal(b.config.author, 'someone');
    });

    it('editConfig creates the config object when a base has none', () => {
      const base: Image = { ...emptyImage(amd64) };
      base.config = { ...base.config };
      delete base.config.config;
      const b = editConfig(base, (c) => { c.User = 'app'; });
      assert.deepEqual(b.config.config, { User: 'app' });
      assert.equal(base.config.config, undefined);
    });
  });

  describe('serializeImage', () => {
    const build = (family: string, layers: Layer[]) => layers.reduce((img, l) => appendLayer(img, l, { created_by: 'x' }), emptyImage(amd64, family));

    it('Docker family: docker config and layer media types; digests of the exact bytes', () => {
      const img = build(mt.DOCKER_MANIFEST, [layer('a'), layer('b', mt.OCI_LAYER_GZIP), layer('c', mt.DOCKER_LAYER)]);
      const s = serializeImage(img);
      assert.equal(s.manifestMediaType, mt.DOCKER_MANIFEST);
      assert.equal(s.configDescriptor.mediaType, mt.DOCKER_CONFIG);
      assert.equal(s.configDescriptor.digest, sha(s.configBody));
      assert.equal(s.configDescriptor.size, s.configBody.length);
      assert.deepEqual(JSON.parse(s.configBody.toString()), img.config);
      assert.equal(s.manifestDigest, sha(s.manifestBody));
      const m = JSON.parse(s.manifestBody.toString());
      assert.equal(m.schemaVersion, 2);
      assert.equal(m.mediaType, mt.DOCKER_MANIFEST);
      assert.deepEqual(m.config, s.configDescriptor);
      assert.deepEqual(m.layers.map((l: { mediaType: string }) => l.mediaType), [mt.DOCKER_LAYER_GZIP, mt.DOCKER_LAYER_GZIP, mt.DOCKER_LAYER]);
      assert.deepEqual(m.layers.map((l: { digest: string }) => l.digest), [fakeDigest('a'), fakeDigest('b'), fakeDigest('c')]);
      assert.deepEqual(m.layers.map((l: { size: number }) => l.size), img.layers.map((l) => l.descriptor.size));
      assert.deepEqual(s.manifest, m);
    });

    it('OCI family: OCI config and layer media types, compression kept', () => {
      const s = serializeImage(build(mt.OCI_MANIFEST, [layer('a'), layer('b', mt.OCI_LAYER_ZSTD), layer('c', mt.DOCKER_LAYER)]));
      assert.equal(s.configDescriptor.mediaType, mt.OCI_CONFIG);
      const m = JSON.parse(s.manifestBody.toString());
      assert.equal(m.mediaType, mt.OCI_MANIFEST);
      assert.deepEqual(m.layers.map((l: { mediaType: string }) => l.mediaType), [mt.OCI_LAYER_GZIP, mt.OCI_LAYER_ZSTD, mt.OCI_LAYER]);
    });

    it('the same image in the two families has different digests; serialization is stable', () => {
      const d = build(mt.DOCKER_MANIFEST, [layer('a')]);
      const o: Image = { ...d, manifestMediaType: mt.OCI_MANIFEST };
      assert.notEqual(serializeImage(d).manifestDigest, serializeImage(o).manifestDigest);
      assert.equal(serializeImage(d).configDescriptor.digest, serializeImage(o).configDescriptor.digest);
      assert.deepEqual(serializeImage(d).manifestBody, serializeImage(d).manifestBody);
    });

    it('foreign layers keep their descriptor; annotations and urls are kept', () => {
      const foreign = layer('f', mt.DOCKER_FOREIGN_LAYER, { urls: ['https://example.invalid/l.tgz'] });
      const annotated = layer('a', mt.DOCKER_LAYER_GZIP, { annotations: { k: 'v' }, urls: ['https://u.invalid/x'] });
      const m = JSON.parse(serializeImage(build(mt.OCI_MANIFEST, [foreign, annotated])).manifestBody.toString());
      assert.deepEqual(m.layers[0], foreign.descriptor);
      assert.deepEqual(m.layers[1], { mediaType: mt.OCI_LAYER_GZIP, digest: fakeDigest('a'), size: annotated.descriptor.size, annotations: { k: 'v' }, urls: ['https://u.invalid/x'] });
    });

    it('imageSize adds the compressed layer sizes', () => {
      assert.equal(imageSize(build(mt.DOCKER_MANIFEST, [layer('a'), layer('b')])), 100 + 97 + 100 + 98);
      assert.equal(imageSize(emptyImage(amd64)), 0);
    });
  });
});
