// Pulling from the real registry in every mode: manifests (Docker schema2, OCI without mediaType,
// OCI index with platform selection), config, and layers streamed with digest verification;
// results cross-checked with skopeo.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { run, skopeoOpts, type RegistryMode } from '../../support/testbed';
import { parseReference } from '../../../src/image/reference';
import { parsePlatform } from '../../../src/image/platform';
import * as mt from '../../../src/image/mediatypes';
import { RegistryError } from '../../../src/registry';
import { Logger } from '../../../src/log';
import { Writable } from 'node:stream';
import { clientFor, seededRegistry } from './helpers';

const amd64 = parsePlatform('linux/amd64');

async function sha256Of(stream: NodeJS.ReadableStream): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: 'sha256:' + h.digest('hex'), size };
}

for (const mode of ['plain', 'htpasswd', 'token', 'tls'] as RegistryMode[]) {
  describe(`registry client pull (${mode} registry)`, function () {
    this.timeout(120000);

    it('pings and reports the auth scheme (a loopback registry: plain HTTP asked first, TLS only when that is no registry)', async () => {
      const reg = await seededRegistry(mode);
      const lines: string[] = [];
      const log = new Logger({ level: 'debug', format: 'json', stream: new Writable({ write(c, _e, cb) { lines.push(c.toString()); cb(); } }) });
      const client = clientFor(reg, { log });
      try {
        const p = await client.ping(reg.host);
        assert.equal(p.origin, `${mode === 'tls' ? 'https' : 'http'}://${reg.host}`);
        assert.equal(p.auth, { plain: 'none', tls: 'none', htpasswd: 'basic', token: 'bearer' }[mode]);
        const failed = lines.filter((l) => l.includes('ping failed'));
        assert.deepEqual(failed, [], 'no scheme failed: plain HTTP answered, or (TLS registry) a 400 sent us to https');
      } finally {
        await client.close();
      }
    });

    it('resolves busybox:latest (Docker schema2) and streams its verified layer', async () => {
      const reg = await seededRegistry(mode);
      const client = clientFor(reg);
      try {
        const ref = parseReference(`${reg.host}/library/busybox:latest`);
        const heard: Array<[string, string[]]> = [];
        const img = await client.resolveImage(ref, amd64, (pinned, m) => heard.push([pinned.toString(), m.layers.map((l) => l.digest)]));
        assert.deepEqual(heard, [[img.ref.toString(), img.layers.map((l) => l.digest)]], 'onManifest hears the pinned manifest once');
        assert.equal(img.manifestMediaType, mt.DOCKER_MANIFEST);
        assert.equal(img.config.architecture, 'amd64');
        assert.equal(img.layers.length, 1);
        assert.equal(img.index, undefined);
        assert.equal(img.ref.digest, img.manifestDigest);
        const inspected = JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${ref}`]));
        assert.equal(img.manifestDigest, inspected.Digest);
        assert.deepEqual(img.layers.map((l) => l.digest), inspected.Layers);
        const got = await sha256Of(await client.openBlob(img.ref, img.layers[0]));
        assert.deepEqual(got, { digest: img.layers[0].digest, size: img.layers[0].size });
      } finally {
        await client.close();
      }
    });

    it('resolves busybox:oci (OCI manifest without mediaType)', async () => {
      const reg = await seededRegistry(mode);
      const client = clientFor(reg);
      try {
        const img = await client.resolveImage(parseReference(`${reg.host}/library/busybox:oci`), amd64);
        assert.equal(img.manifestMediaType, mt.OCI_MANIFEST);
        assert.equal(img.manifest.mediaType, undefined);
        assert.equal(img.configDescriptor.mediaType, mt.OCI_CONFIG);
        const raw = run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${reg.host}/library/busybox:oci`]);
        assert.equal(img.manifestBody.toString(), raw);
      } finally {
        await client.close();
      }
    });

    it('selects arm64 and amd64 from busybox:multiarch', async () => {
      const reg = await seededRegistry(mode);
      const client = clientFor(reg);
      try {
        const ref = parseReference(`${reg.host}/library/busybox:multiarch`);
        const arm = await client.resolveImage(ref, parsePlatform('linux/arm64/v8'));
        const amd = await client.resolveImage(ref, amd64);
        assert.equal(arm.config.architecture, 'arm64');
        assert.equal(amd.config.architecture, 'amd64');
        assert.equal(arm.indexMediaType, mt.OCI_INDEX);
        assert.notEqual(arm.manifestDigest, amd.manifestDigest);
        assert.equal(arm.indexDigest, amd.indexDigest);
        const raw = JSON.parse(run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${ref}`]));
        const armEntry = raw.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === 'arm64');
        assert.equal(arm.manifestDigest, armEntry.digest);
        await assert.rejects(client.resolveImage(ref, parsePlatform('linux/s390x')),
          /no image for platform linux\/s390x in .*busybox:multiarch; available: linux\/amd64, linux\/arm64/);
      } finally {
        await client.close();
      }
    });

    it('reports a missing repository and a missing tag with the registry error code', async () => {
      const reg = await seededRegistry(mode);
      const client = clientFor(reg, { retries: 0 });
      try {
        await assert.rejects(client.getManifest(parseReference(`${reg.host}/no/such-repo:latest`)), (e: unknown) => {
          assert.ok(e instanceof RegistryError);
          assert.equal(e.status, 404);
          assert.equal(e.code, 'NAME_UNKNOWN');
          assert.ok(e.message.includes(`repository ${reg.host}/no/such-repo not found (looking for manifest latest)`), e.message);
          return true;
        });
        await assert.rejects(client.getManifest(parseReference(`${reg.host}/library/busybox:nope`)), (e: unknown) => {
          assert.ok(e instanceof RegistryError);
          assert.equal(e.code, 'MANIFEST_UNKNOWN');
          assert.match(e.message, new RegExp(`manifest nope not found in ${reg.host}/library/busybox: MANIFEST_UNKNOWN`));
          return true;
        });
      } finally {
        await client.close();
      }
    });
  });
}
