// A refused cross-repository mount falls back to an upload, as go-containerregistry, containerd
// and kaniko do. The real registry mounts whatever it can, so a loopback forwarder (forwarder.ts)
// answers the mount POST the way registries with per-repository permissions or Quay do.
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import type { RegistryMode } from '../../support/testbed';
import { parseReference } from '../../../src/image/reference';
import { clientFor, makeTestImage, seededRegistry } from './helpers';
import { startForwarder } from './forwarder';

const json = { 'content-type': 'application/json' };
const refusals: Array<{ name: string; mode: RegistryMode; status: number; headers: Record<string, string>; body: string }> = [
  { name: '403 DENIED', mode: 'plain', status: 403, headers: json, body: '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}' },
  { name: '400 (Quay)', mode: 'plain', status: 400, headers: json, body: '{"errors":[{"code":"INVALID_REQUEST","message":"Invalid request"}]}' },
  {
    name: '401 insufficient_scope', mode: 'token', status: 401,
    headers: { ...json, 'www-authenticate': 'Bearer realm="REALM",service="test-registry",scope="repository:drydock/mount-src:pull",error="insufficient_scope"' },
    body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
  },
];

describe('registry client: refused cross-repository mounts', function () {
  this.timeout(120000);

  for (const refusal of refusals) {
    it(`uploads the blob when the mount is answered ${refusal.name}`, async () => {
      const reg = await seededRegistry(refusal.mode);
      const port = Number(reg.host.split(':')[1]);
      // the token registry's own realm, so the client's token refresh on the 401 is a real one
      let realm = '';
      const front = await startForwarder(port, (req) => {
        if (req.method === 'POST' && req.url?.includes('mount=')) {
          return { status: refusal.status, headers: { ...refusal.headers, 'www-authenticate': (refusal.headers['www-authenticate'] ?? '').replace('REALM', realm) }, body: refusal.body };
        }
        return { rewrite: (h) => { realm = /realm="([^"]+)"/.exec(String(h['www-authenticate'] ?? ''))?.[1] ?? realm; } };
      });
      const client = clientFor({ ...reg, host: front.host }, { retries: 0 });
      try {
        const img = await makeTestImage();
        const src = parseReference(`${front.host}/drydock/mount-src:v1`);
        const dst = parseReference(`${front.host}/drydock/mount-refused:v1`);
        assert.equal(await client.pushBlob(src, img.layerDescriptor, () => Readable.from([img.layer])), 'uploaded');
        assert.equal(await client.mountBlob(dst, img.layerDescriptor.digest, src.repository), false);
        assert.equal(await client.pushBlob(dst, img.layerDescriptor, () => Readable.from([img.layer]), { mountFrom: [src.repository] }), 'uploaded');
        assert.equal(await client.hasBlob(dst, img.layerDescriptor.digest), true);
        assert.ok(front.seen.some((s) => s.method === 'POST' && s.url.includes('mount=')), 'the mount was asked for');
      } finally {
        await client.close();
        await front.close();
      }
    });
  }
});
