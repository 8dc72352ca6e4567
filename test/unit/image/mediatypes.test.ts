import { strict as assert } from 'node:assert';
import * as mt from '../../../src/image/mediatypes';

describe('image/mediatypes', () => {
  it('classifies manifests and indexes', () => {
    assert.ok(mt.isIndex(mt.OCI_INDEX) && mt.isIndex(mt.DOCKER_MANIFEST_LIST));
    assert.ok(!mt.isIndex(mt.OCI_MANIFEST));
    assert.ok(mt.isManifest(mt.OCI_MANIFEST) && mt.isManifest(mt.DOCKER_MANIFEST));
    assert.ok(!mt.isManifest(mt.DOCKER_MANIFEST_LIST) && !mt.isManifest(undefined));
    assert.ok(mt.isConfig(mt.DOCKER_CONFIG) && mt.isConfig(mt.OCI_CONFIG));
  });

  it('knows layer compression', () => {
    assert.equal(mt.layerCompression(mt.DOCKER_LAYER_GZIP), 'gzip');
    assert.equal(mt.layerCompression(mt.DOCKER_LAYER), 'none');
    assert.equal(mt.layerCompression(mt.DOCKER_FOREIGN_LAYER), 'gzip');
    assert.equal(mt.layerCompression(mt.OCI_LAYER), 'none');
    assert.equal(mt.layerCompression(mt.OCI_LAYER_GZIP), 'gzip');
    assert.equal(mt.layerCompression(mt.OCI_LAYER_ZSTD), 'zstd');
    assert.throws(() => mt.layerCompression(mt.OCI_CONFIG), /unknown layer media type "application\/vnd.oci.image.config.v1\+json"/);
    assert.ok(mt.isForeignLayer(mt.DOCKER_FOREIGN_LAYER) && mt.isForeignLayer(mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP));
    assert.ok(!mt.isForeignLayer(mt.OCI_LAYER_GZIP));
  });

  it('picks layer and config types of the manifest family', () => {
    assert.equal(mt.layerMediaType(mt.DOCKER_MANIFEST, 'gzip'), mt.DOCKER_LAYER_GZIP);
    assert.equal(mt.layerMediaType(mt.OCI_MANIFEST, 'zstd'), mt.OCI_LAYER_ZSTD);
    assert.equal(mt.layerMediaType(mt.OCI_MANIFEST, 'none'), mt.OCI_LAYER);
    assert.equal(mt.configMediaType(mt.DOCKER_MANIFEST), mt.DOCKER_CONFIG);
    assert.equal(mt.configMediaType(mt.OCI_MANIFEST), mt.OCI_CONFIG);
  });
});
