// Failures a user must be able to act on, against the real registry where it can produce them
// (wrong password, missing credentials, TLS without the CA, nothing listening) and through a
// small loopback proxy (faulty-proxy.ts) where it cannot (503 bursts, corrupted blob bytes).
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { freePort } from '../../support/testbed';
import { StaticKeychain } from '../../../src/credentials/keychain';
import { parseReference } from '../../../src/image/reference';
import { parsePlatform } from '../../../src/image/platform';
import { DigestMismatchError } from '../../../src/image/digest';
import { RegistryClient, RegistryError } from '../../../src/registry';
import { clientFor, makeTestImage, seededRegistry } from './helpers';
import { startFaultyProxy } from './faulty-proxy';

const amd64 = parsePlatform('linux/amd64');

async function drain(s: Readable): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).length;
  return n;
}

describe('registry client errors', function () {
  this.timeout(120000);

  for (const mode of ['htpasswd', 'token'] as const) {
    it(`says authentication failed for a wrong password (${mode}), without the password`, async () => {
      const reg = await seededRegistry(mode);
      const secret = 'wrong-Pa55word';
      const client = new RegistryClient({ keychain: new StaticKeychain({ [reg.host]: { username: 'testuser', password: secret } }), retries: 0 });
      try {
        await assert.rejects(client.getManifest(parseReference(`${reg.host}/library/busybox:latest`)), (e: unknown) => {
          assert.ok(e instanceof RegistryError);
          assert.equal(e.status, 401);
          assert.match(e.message, new RegExp(`^authentication failed for ${reg.host} \\(library/busybox\\): `));
          assert.ok(!e.message.includes(secret));
          return true;
        });
      } finally {
        await client.close();
      }
    });

    it(`says authentication is required when no credentials are configured (${mode})`, async () => {
      const reg = await seededRegistry(mode);
      const client = new RegistryClient({ retries: 0 });
      try {
        await assert.rejects(client.getManifest(parseReference(`${reg.host}/library/busybox:latest`)),
          new RegExp(`authentication required for ${reg.host} \\(library/busybox\\): no credentials found for ${reg.host}`));
        await assert.rejects(client.checkPushAccess(parseReference(`${reg.host}/drydock/x:1`)),
          new RegExp(`checking push permission for ${reg.host}/drydock/x:1: authentication required`));
      } finally {
        await client.close();
      }
    });
  }

  it('uses a keychain registryToken as the bearer token as is', async () => {
    const reg = await seededRegistry('token');
    const ping = await request(`http://${reg.host}/v2/`);
    await ping.body.dump();
    const realm = /realm="([^"]+)"/.exec(String(ping.headers['www-authenticate']))![1];
    const url = `${realm}?service=test-registry&scope=repository:library/busybox:pull`;
    const res = await request(url, { headers: { authorization: `Basic ${Buffer.from(`${reg.user}:${reg.pass}`).toString('base64')}` } });
    const { token } = (await res.body.json()) as { token: string };
    const client = new RegistryClient({ keychain: new StaticKeychain({ [reg.host]: { registryToken: token } }), retries: 0 });
    try {
      const m = await client.getManifest(parseReference(`${reg.host}/library/busybox:latest`));
      assert.ok(m.digest.startsWith('sha256:'));
    } finally {
      await client.close();
    }
  });

  it('names the host and the CA option on a TLS verification failure, and skip-tls-verify works', async () => {
    const reg = await seededRegistry('tls');
    const ref = parseReference(`${reg.host}/library/busybox:latest`);
    const noCa = new RegistryClient({ retries: 0 });
    try {
      await assert.rejects(noCa.getManifest(ref), (e: unknown) => {
        assert.ok(e instanceof RegistryError);
        assert.match(e.message, new RegExp(`^TLS error talking to registry ${reg.host}: .*--registry-certificate ${reg.host}=<ca.pem>`));
        return true;
      });
    } finally {
      await noCa.close();
    }
    const skip = new RegistryClient({ skipTlsVerifyPull: true, retries: 0 });
    const skipHost = new RegistryClient({ skipTlsVerifyRegistries: [reg.host], retries: 0 });
    try {
      assert.equal((await skip.ping(reg.host)).origin, `https://${reg.host}`);
      assert.ok((await skip.getManifest(ref)).digest);
      assert.ok((await skipHost.getManifest(ref)).digest);
    } finally {
      await skip.close();
      await skipHost.close();
    }
  });

  it('says the registry cannot be reached when nothing listens', async () => {
    const port = await freePort();
    const client = new RegistryClient({ retries: 2, retryBaseDelayMs: 10 });
    try {
      await assert.rejects(client.getManifest(parseReference(`127.0.0.1:${port}/library/busybox:latest`)), (e: unknown) => {
        assert.ok(e instanceof RegistryError);
        assert.equal(e.message, `cannot reach registry 127.0.0.1:${port}: connection refused`);
        return true;
      });
    } finally {
      await client.close();
    }
  });

  it('detects a corrupted blob while streaming it (proxy flips a byte)', async () => {
    const reg = await seededRegistry('plain');
    const good = clientFor(reg);
    const img = await good.resolveImage(parseReference(`${reg.host}/library/busybox:latest`), amd64);
    await good.close();
    const proxy = await startFaultyProxy(reg.port, { corruptBlobs: true });
    const client = new RegistryClient({ retries: 0 });
    try {
      const ref = parseReference(`${proxy.host}/library/busybox:latest`);
      await assert.rejects(drain(await client.openBlob(ref, img.layers[0])), (e: unknown) => {
        assert.ok(e instanceof DigestMismatchError);
        assert.match(e.message, new RegExp(`digest mismatch for blob ${img.layers[0].digest} of ${proxy.host}/library/busybox: expected ${img.layers[0].digest}, got sha256:`));
        return true;
      });
      // the config is a blob too: resolving fails the same way
      await assert.rejects(client.resolveImage(ref, amd64), DigestMismatchError);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('retries 503 answers (proxy fails the first requests) and gives up after the configured count', async () => {
    const reg = await seededRegistry('plain');
    const proxy = await startFaultyProxy(reg.port, { failFirst: 3 });
    const ref = parseReference(`${proxy.host}/library/busybox:latest`);
    const noRetry = new RegistryClient({ retries: 0 });
    const patient = new RegistryClient({ retries: { pull: 3 }, retryBaseDelayMs: 10 });
    try {
      await assert.rejects(noRetry.getManifest(ref), /registry 127\.0\.0\.1:\d+ answered 503 .*UNAVAILABLE/);
      const m = await patient.getManifest(ref);
      assert.ok(m.digest.startsWith('sha256:'));
      // one ping for the client without retries, then two failed and one good ping
      assert.equal(proxy.seen.filter((s) => s === 'GET /v2/').length, 4);
    } finally {
      await noRetry.close();
      await patient.close();
      await proxy.close();
    }
  });

  it('does not retry Docker Hub\'s pull rate limit (429 for hours), and says what lifts it', async () => {
    const reg = await seededRegistry('plain');
    // Docker Hub's answer, as documented at docs.docker.com/docker-hub/usage/pulls
    const body = '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]}';
    const proxy = await startFaultyProxy(reg.port, { failFirst: 5, failWhen: (_m, url) => url.includes('/manifests/'), failWith: { status: 429, body } });
    const client = new RegistryClient({ retries: { pull: 3 }, retryBaseDelayMs: 10 });
    try {
      await assert.rejects(client.getManifest(parseReference(`${proxy.host}/library/busybox:latest`)), /pull rate limit.*Docker Hub's pull limit; pull with credentials for docker\.io .* or through a mirror \(--registry-mirror\)/);
      assert.equal(proxy.seen.filter((s) => s.includes('/manifests/')).length, 1, 'asked once');
      const other = await startFaultyProxy(reg.port, { failFirst: 1, failWhen: (_m, url) => url.includes('/manifests/'), failWith: { status: 429, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"Rate exceeded"}]}' } });
      try {
        assert.ok((await client.getManifest(parseReference(`${other.host}/library/busybox:latest`))).digest.startsWith('sha256:'), 'another 429 (throttling) is retried');
      } finally {
        await other.close();
      }
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('retries a failed upload from the start, reopening the blob stream', async () => {
    const reg = await seededRegistry('plain');
    const proxy = await startFaultyProxy(reg.port, { failFirst: 1, failWhen: (method) => method === 'PATCH' });
    const client = new RegistryClient({ retries: { push: 2 }, retryBaseDelayMs: 10 });
    try {
      const img = await makeTestImage();
      const ref = parseReference(`${proxy.host}/drydock/retry-push:v1`);
      let opened = 0;
      const result = await client.pushBlob(ref, img.layerDescriptor, () => { opened++; return Readable.from([img.layer]); });
      assert.equal(result, 'uploaded');
      assert.equal(opened, 2);
      assert.equal(proxy.seen.filter((s) => s.startsWith('PATCH')).length, 2);
      assert.equal(await client.hasBlob(parseReference(`${reg.host}/drydock/retry-push:v1`), img.layerDescriptor.digest), true);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('pulls docker.io images through a mirror and registry-map entries, falling back in order', async () => {
    const reg = await seededRegistry('plain');
    const dead = `127.0.0.1:${await freePort()}`;
    const mirrored = new RegistryClient({ mirrors: [dead, reg.host], retries: 0 });
    const mapped = new RegistryClient({ registryMap: { 'registry.example.invalid': [`${reg.host}/library`] }, retries: 0 });
    const strict = new RegistryClient({ registryMap: { 'registry.example.invalid': [dead] }, skipDefaultRegistryFallback: true, retries: 0 });
    try {
      const viaMirror = await mirrored.resolveImage(parseReference('busybox:latest'), amd64);
      assert.equal(viaMirror.ref.registry, reg.host);
      assert.equal(viaMirror.ref.repository, 'library/busybox');
      const viaMap = await mapped.resolveImage(parseReference('registry.example.invalid/busybox:oci'), amd64);
      assert.equal(viaMap.ref.toString(), `${reg.host}/library/busybox:oci@${viaMap.manifestDigest}`);
      await assert.rejects(strict.resolveImage(parseReference('registry.example.invalid/busybox:oci'), amd64),
        /image registry\.example\.invalid\/busybox:oci not found on any configured mirror\/mapped registry .*connection refused/);
    } finally {
      await mirrored.close();
      await mapped.close();
      await strict.close();
    }
  });
});
