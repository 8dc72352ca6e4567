// Requests that leave the registry's origin: an upload Location or a blob redirect naming another
// host (blob storage, a CDN). Loopback forwarders (forwarder.ts) in front of the real registry play
// the registry that sends us elsewhere and the storage host, since a test registry never does.
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { parseReference } from '../../../src/image/reference';
import { parsePlatform } from '../../../src/image/platform';
import { RegistryClient, RegistryError, type RegistryClientOptions } from '../../../src/registry';
import { clientFor, makeTestImage, seededRegistry } from './helpers';
import { startForwarder, type Forwarder } from './forwarder';

const portOf = (host: string) => Number(host.split(':')[1]);

describe('registry client: requests to another origin', function () {
  this.timeout(120000);
  const servers: Forwarder[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  /** A front for `upstream` whose upload Locations name `storage` (as "localhost:port", another origin). */
  async function frontSendingUploadsTo(upstream: string, storage: Forwarder): Promise<Forwarder> {
    const front = await startForwarder(portOf(upstream), (req) => (req.method === 'POST' && req.url?.includes('/blobs/uploads/') ? {
      rewrite: (h) => {
        const loc = new URL(String(h.location), `http://${upstream}`);
        h.location = `http://localhost:${storage.port}${loc.pathname}${loc.search}`;
      },
    } : undefined));
    servers.push(front);
    return front;
  }

  it('sends no credentials to the host an upload Location names', async () => {
    const reg = await seededRegistry('htpasswd');
    // the storage host has credentials of its own (as a signed URL would)
    const basic = `Basic ${Buffer.from(`${reg.user}:${reg.pass}`).toString('base64')}`;
    const storage = await startForwarder(portOf(reg.host), () => ({ rewrite: () => undefined, addHeaders: { authorization: basic } }));
    servers.push(storage);
    const front = await frontSendingUploadsTo(reg.host, storage);
    const client = clientFor({ ...reg, host: front.host }, { retries: 0 });
    try {
      const img = await makeTestImage();
      const ref = parseReference(`${front.host}/drydock/location-elsewhere:v1`);
      assert.equal(await client.pushBlob(ref, img.layerDescriptor, () => Readable.from([img.layer])), 'uploaded');
      assert.ok(storage.seen.length >= 2, `the upload went to the storage host: ${JSON.stringify(storage.seen)}`);
      assert.deepEqual(storage.seen.filter((s) => s.authorization), [], 'no Authorization reached the storage host');
      assert.ok(front.seen.some((s) => s.method === 'POST' && s.authorization === basic), 'the registry itself got the credentials');
    } finally {
      await client.close();
    }
  });

  it('reports a 401 from the storage host as that host refusing the address, without a token refresh', async () => {
    const reg = await seededRegistry('token');
    const storage = await startForwarder(portOf(reg.host), () => ({
      status: 401,
      headers: { 'content-type': 'application/xml', 'www-authenticate': 'Bearer realm="http://127.0.0.1:1/token"' },
      body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
    }));
    servers.push(storage);
    const front = await frontSendingUploadsTo(reg.host, storage);
    const client = clientFor({ ...reg, host: front.host }, { retries: 0 });
    try {
      const img = await makeTestImage();
      const ref = parseReference(`${front.host}/drydock/location-refused:v1`);
      await assert.rejects(client.pushBlob(ref, img.layerDescriptor, () => Readable.from([img.layer])), (e: unknown) => {
        assert.ok(e instanceof RegistryError);
        assert.match(e.message, new RegExp(`^localhost:${storage.port} refused upload of blob sha256:[0-9a-f]{64} of ${front.host}/drydock/location-refused \\(HTTP 401: AccessDenied Request has expired\\): registry ${front.host} sent us there`));
        return true;
      });
      assert.equal(storage.seen.length, 1, 'asked once: a new token of the registry cannot change the storage host\'s mind');
    } finally {
      await client.close();
    }
  });

  describe('a blob redirect to an https storage host with a private CA', () => {
    // The plain registry's blobs are redirected to the tls registry (self-signed, the same
    // busybox pushed there), which plays the storage host.
    async function frontRedirectingBlobs(): Promise<{ front: Forwarder; storage: string; caFile: string }> {
      const plain = await seededRegistry('plain');
      const tls = await seededRegistry('tls');
      const front = await startForwarder(portOf(plain.host), (req) => (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')
        ? { status: 307, headers: { location: `https://${tls.host}${req.url}` } }
        : undefined));
      servers.push(front);
      return { front, storage: tls.host, caFile: tls.caFile! };
    }

    async function pull(front: Forwarder, extra: RegistryClientOptions): Promise<void> {
      const client = new RegistryClient({ retries: 0, ...extra });
      try {
        const img = await client.resolveImage(parseReference(`${front.host}/library/busybox:latest`), parsePlatform('linux/amd64'));
        let n = 0;
        for await (const c of await client.openBlob(img.ref, img.layers[0])) n += (c as Buffer).length;
        assert.equal(n, img.layers[0].size);
      } finally {
        await client.close();
      }
    }

    it('names the storage host, not the registry, in the TLS error', async () => {
      const { front, storage } = await frontRedirectingBlobs();
      await assert.rejects(pull(front, {}), (e: unknown) => {
        assert.ok(e instanceof RegistryError);
        assert.match(e.message, new RegExp(`^TLS error talking to ${storage} \\(where registry ${front.host} sent us\\): .*--registry-certificate ${storage}=<ca.pem>.*--skip-tls-verify-registry ${storage}\\)$`));
        return true;
      });
    });

    it('follows it with --skip-tls-verify-pull', async () => {
      const { front } = await frontRedirectingBlobs();
      await pull(front, { skipTlsVerifyPull: true });
    });

    it('follows it with --registry-certificate for the storage host', async () => {
      const { front, storage, caFile } = await frontRedirectingBlobs();
      await pull(front, { registryCertificates: { [storage]: caFile } });
    });

    it("follows it with the registry's own --skip-tls-verify-registry, as go-containerregistry's shared transport does", async () => {
      const { front } = await frontRedirectingBlobs();
      await pull(front, { skipTlsVerifyRegistries: [front.host] });
    });
  });
});
