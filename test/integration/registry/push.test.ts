// Pushing to the real registry in every mode: blobs (streamed PATCH and monolithic PUT), HEAD
// short-cut, cross-repository mounts, manifest last; proven with skopeo inspect / inspect --raw.
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { run, skopeoOpts, type RegistryMode } from '../../support/testbed';
import { parseReference } from '../../../src/image/reference';
import { clientFor, makeTestImage, seededRegistry } from './helpers';

for (const mode of ['plain', 'htpasswd', 'token', 'tls'] as RegistryMode[]) {
  describe(`registry client push (${mode} registry)`, function () {
    this.timeout(120000);

    for (const uploadMode of ['stream', 'monolithic'] as const) {
      it(`pushes layer, config and manifest (${uploadMode} upload), seen by skopeo`, async () => {
        const reg = await seededRegistry(mode);
        const progress: number[] = [];
        const client = clientFor(reg, { uploadMode, onProgress: (p) => p.direction === 'push' && progress.push(p.done) });
        try {
          const img = await makeTestImage(uploadMode === 'stream' ? 'docker' : 'oci', 200_000);
          const ref = parseReference(`${reg.host}/drydock/push-${uploadMode}:v1`);
          await client.checkPushAccess(ref);
          let opened = 0;
          const open = () => { opened++; return Readable.from([img.layer.subarray(0, 1000), img.layer.subarray(1000)]); };
          assert.equal(await client.pushBlob(ref, img.layerDescriptor, open), 'uploaded');
          assert.equal(opened, 1);
          assert.equal(progress.at(-1), img.layer.length);
          assert.equal(await client.pushBlob(ref, img.layerDescriptor, open), 'exists');
          assert.equal(opened, 1, 'an existing blob is not read again');
          assert.equal(await client.pushBlob(ref, img.configDescriptor, () => Readable.from([img.config])), 'uploaded');
          const digest = await client.putManifest(ref, img.manifest, img.manifestMediaType);

          const inspected = JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${ref}`]));
          assert.equal(inspected.Digest, digest);
          assert.deepEqual(inspected.Layers, [img.layerDescriptor.digest]);
          assert.deepEqual(inspected.Architecture, 'amd64');
          const raw = run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${ref}`]);
          assert.equal(raw, img.manifest.toString());
          const config = run('skopeo', ['inspect', '--config', '--raw', ...skopeoOpts(reg), `docker://${ref}`]);
          assert.equal(config, img.config.toString());
        } finally {
          await client.close();
        }
      });
    }

    it('mounts a blob from another repository instead of uploading it', async () => {
      const reg = await seededRegistry(mode);
      const client = clientFor(reg);
      try {
        const img = await makeTestImage();
        const src = parseReference(`${reg.host}/drydock/mount-src:v1`);
        const dst = parseReference(`${reg.host}/drydock/mount-dst:v1`);
        assert.equal(await client.pushBlob(src, img.layerDescriptor, () => Readable.from([img.layer])), 'uploaded');
        assert.equal(await client.hasBlob(dst, img.layerDescriptor.digest), false);
        const never = () => { throw new Error('a mounted blob must not be read'); };
        assert.equal(await client.pushBlob(dst, img.layerDescriptor, never, { mountFrom: ['drydock/not-there', src.repository] }), 'mounted');
        assert.equal(await client.hasBlob(dst, img.layerDescriptor.digest), true);
        // mountBlob on its own: true when the source has it, false when it does not
        const other = parseReference(`${reg.host}/drydock/mount-other:v1`);
        assert.equal(await client.mountBlob(other, img.layerDescriptor.digest, src.repository), true);
        const missing = (await makeTestImage()).layerDescriptor.digest;
        assert.equal(await client.mountBlob(other, missing, src.repository), false);
        // the mounted blob is a real blob of the destination: a manifest referencing it is accepted
        assert.equal(await client.pushBlob(dst, img.configDescriptor, () => Readable.from([img.config])), 'uploaded');
        const digest = await client.putManifest(dst, img.manifest, img.manifestMediaType);
        assert.equal(JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${dst}`])).Digest, digest);
      } finally {
        await client.close();
      }
    });

    it('refuses a blob whose bytes do not match its descriptor', async () => {
      const reg = await seededRegistry(mode);
      const client = clientFor(reg, { retries: 0 });
      try {
        const img = await makeTestImage();
        const wrong = (await makeTestImage()).layer;
        const ref = parseReference(`${reg.host}/drydock/bad-blob:v1`);
        const desc = { ...img.layerDescriptor, size: wrong.length };
        await assert.rejects(client.pushBlob(ref, desc, () => Readable.from([wrong])), /rejected blob sha256:[0-9a-f]{64} for .*does not match its descriptor.*DIGEST_INVALID/);
      } finally {
        await client.close();
      }
    });
  });
}
