import { strict as assert } from 'node:assert';
import { parseManifest, serializeManifest, manifestMediaType, type ImageManifest } from '../../../src/image/manifest';
import * as mt from '../../../src/image/mediatypes';
import { UserError } from '../../../src/log';

const d = (c: string) => 'sha256:' + c.repeat(64);

const dockerManifest = {
  schemaVersion: 2,
  mediaType: mt.DOCKER_MANIFEST,
  config: { mediaType: mt.DOCKER_CONFIG, size: 10, digest: d('1') },
  layers: [{ mediaType: mt.DOCKER_LAYER_GZIP, size: 20, digest: d('2') }],
};

describe('image/manifest', () => {
  it('parses a Docker schema 2 manifest', () => {
    const p = parseManifest(Buffer.from(JSON.stringify(dockerManifest)));
    assert.equal(p.kind, 'manifest');
    assert.equal(p.mediaType, mt.DOCKER_MANIFEST);
    if (p.kind !== 'manifest') return;
    assert.equal(p.manifest.config.digest, d('1'));
    assert.equal(p.manifest.layers[0].size, 20);
  });

  it('detects an OCI manifest without mediaType (as skopeo writes it) by shape', () => {
    const { mediaType: _m, ...oci } = dockerManifest;
    const p = parseManifest(JSON.stringify({ ...oci, config: { ...oci.config, mediaType: mt.OCI_CONFIG } }));
    assert.equal(p.kind, 'manifest');
    assert.equal(p.mediaType, mt.OCI_MANIFEST);
    if (p.kind === 'manifest') assert.equal(p.manifest.mediaType, undefined);
  });

  it('uses the content type when the document has no mediaType', () => {
    const p = parseManifest(JSON.stringify({ schemaVersion: 2, manifests: [] }), `${mt.DOCKER_MANIFEST_LIST}; charset=utf-8`);
    assert.equal(p.kind, 'index');
    assert.equal(p.mediaType, mt.DOCKER_MANIFEST_LIST);
  });

  it('parses an index with platforms, mapping os.version and os.features', () => {
    const idx = {
      schemaVersion: 2,
      mediaType: mt.OCI_INDEX,
      manifests: [
        { mediaType: mt.OCI_MANIFEST, digest: d('3'), size: 5, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        { mediaType: mt.OCI_MANIFEST, digest: d('4'), size: 5, platform: { architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763', 'os.features': ['win32k'] } },
      ],
    };
    const p = parseManifest(JSON.stringify(idx));
    assert.equal(p.kind, 'index');
    if (p.kind !== 'index') return;
    assert.deepEqual(p.index.manifests[0].platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.deepEqual(p.index.manifests[1].platform, { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763', osFeatures: ['win32k'] });
    // and back to JSON names
    assert.deepEqual(JSON.parse(serializeManifest(p.index).toString()), idx);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{', /not JSON/],
    ['an array', [], /expected a JSON object/],
    ['schema 1', { schemaVersion: 1, fsLayers: [] }, /schema 1 manifests are not supported/],
    ['a wrong schemaVersion', { ...dockerManifest, schemaVersion: 3 }, /"schemaVersion" must be 2, got 3/],
    ['a bad layer digest', { ...dockerManifest, layers: [{ mediaType: mt.DOCKER_LAYER_GZIP, size: 1, digest: 'sha256:xyz' }] }, /"layers\[0\].digest" must be a digest/],
    ['a negative size', { ...dockerManifest, config: { ...dockerManifest.config, size: -1 } }, /"config.size" must be a non-negative integer, got -1/],
    ['a missing config', { ...dockerManifest, config: undefined }, /needs a "config" descriptor/],
    ['layers not an array', { ...dockerManifest, layers: {} }, /needs a "layers" array/],
    ['an unknown media type', { ...dockerManifest, mediaType: 'text/plain' }, /unsupported media type "text\/plain"/],
    ['an unrecognisable shape', { schemaVersion: 2 }, /neither an image manifest/],
    ['a bad platform', { schemaVersion: 2, manifests: [{ mediaType: mt.OCI_MANIFEST, digest: d('3'), size: 1, platform: { os: 'linux' } }] }, /"manifests\[0\].platform" needs string "os" and "architecture"/],
    ['bad annotations', { ...dockerManifest, annotations: { a: 1 } }, /"annotations" must be an object of strings/],
  ];
  for (const [name, doc, re] of bad) {
    it(`rejects ${name} with a specific error`, () => {
      const body = typeof doc === 'string' ? doc : JSON.stringify(doc);
      assert.throws(() => parseManifest(Buffer.from(body), undefined, 'manifest of r.io/x:1'), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, /^invalid manifest of r\.io\/x:1: /);
        assert.match(e.message, re);
        return true;
      });
    });
  }

  it('serializes with a fixed key order, compact, dropping empty optionals', () => {
    const m: ImageManifest = {
      annotations: {},
      layers: [{ size: 20, digest: d('2'), mediaType: mt.OCI_LAYER_GZIP, annotations: { a: 'b' } }],
      config: { size: 10, mediaType: mt.OCI_CONFIG, digest: d('1') },
      mediaType: mt.OCI_MANIFEST,
      schemaVersion: 2,
    };
    const s = serializeManifest(m).toString();
    assert.equal(
      s,
      `{"schemaVersion":2,"mediaType":"${mt.OCI_MANIFEST}","config":{"mediaType":"${mt.OCI_CONFIG}","digest":"${d('1')}","size":10},` +
        `"layers":[{"mediaType":"${mt.OCI_LAYER_GZIP}","digest":"${d('2')}","size":20,"annotations":{"a":"b"}}]}`,
    );
    const p = parseManifest(Buffer.from(s));
    assert.equal(serializeManifest(p.kind === 'manifest' ? p.manifest : p.index).toString(), s);
  });

  it('knows a document media type by field or shape', () => {
    assert.equal(manifestMediaType({ schemaVersion: 2, manifests: [] }), mt.OCI_INDEX);
    assert.equal(manifestMediaType({ schemaVersion: 2, config: dockerManifest.config, layers: [] }), mt.OCI_MANIFEST);
    assert.equal(manifestMediaType({ schemaVersion: 2, mediaType: mt.DOCKER_MANIFEST, config: dockerManifest.config, layers: [] }), mt.DOCKER_MANIFEST);
  });
});
