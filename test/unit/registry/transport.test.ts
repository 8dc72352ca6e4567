import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Transport, isLoopbackHost } from '../../../src/registry/transport';
import { parseReference } from '../../../src/image/reference';
import { undici } from '../../../src/net/undici';

describe('registry/transport', () => {
  it('recognises loopback hosts', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000', '::1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['10.0.0.1:5000', 'registry.local', 'localhost.example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });

  it('allows plain HTTP per direction and host (https is still tried first)', () => {
    const t = new Transport({ insecure: true, insecureRegistries: ['http://mine.io:5000/'] });
    assert.deepEqual(t.endpoint('r.io', 'push').schemes, ['https', 'http']);
    assert.deepEqual(t.endpoint('r.io', 'pull').schemes, ['https']);
    assert.deepEqual(t.endpoint('mine.io:5000', 'pull').schemes, ['https', 'http']);
    assert.deepEqual(t.endpoint('127.0.0.1:5000', 'pull').schemes, ['https', 'http']);
    const pull = new Transport({ insecurePull: true });
    assert.deepEqual(pull.endpoint('r.io', 'pull').schemes, ['https', 'http']);
    assert.deepEqual(pull.endpoint('r.io', 'push').schemes, ['https']);
  });

  it('skips TLS verification per direction and host', () => {
    const t = new Transport({ skipTlsVerifyPull: true, skipTlsVerifyRegistries: ['index.docker.io'] });
    assert.ok(t.skipsVerify('r.io', 'pull'));
    assert.ok(!t.skipsVerify('r.io', 'push'));
    assert.ok(t.skipsVerify('docker.io', 'push'));
  });

  it('rejects unreadable CA files and malformed client cert pairs with the flag name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-transport-'));
    try {
      fs.writeFileSync(path.join(dir, 'bad.crt'), 'not a cert');
      assert.throws(() => new Transport({ registryCertificates: { 'r.io': '/nonexistent/ca.pem' } }).dispatcherFor('r.io', 'pull'),
        /--registry-certificate r\.io=\/nonexistent\/ca\.pem: cannot read/);
      assert.throws(() => new Transport({ registryCertificates: { 'r.io': dir } }).dispatcherFor('r.io', 'pull'), /bad\.crt is not a PEM certificate/);
      assert.throws(() => new Transport({ registryClientCerts: { 'r.io': '/only/cert.pem' } }).dispatcherFor('r.io', 'pull'),
        /--registry-client-cert r\.io=\/only\/cert\.pem: expected host=\/path\/cert\.pem,\/path\/key\.pem/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists pull candidates like kaniko: map entries, docker.io mirrors, then the original', () => {
    const t = new Transport({
      mirrors: ['mirror.gcr.io', 'https://cache.local:5000/hub/'],
      registryMap: { 'index.docker.io': ['first.io'], 'quay.io': ['q-mirror:5000/prefix'] },
    });
    assert.deepEqual(t.pullCandidates(parseReference('busybox:1')).map(String), [
      'first.io/library/busybox:1', 'mirror.gcr.io/library/busybox:1', 'cache.local:5000/hub/library/busybox:1', 'docker.io/library/busybox:1',
    ]);
    assert.deepEqual(t.pullCandidates(parseReference('quay.io/org/app:2')).map(String), ['q-mirror:5000/prefix/org/app:2', 'quay.io/org/app:2']);
    assert.deepEqual(t.pullCandidates(parseReference('r.io/x:1')).map(String), ['r.io/x:1']);
    const strict = new Transport({ mirrors: ['m.io'], skipDefaultRegistryFallback: true });
    assert.deepEqual(strict.pullCandidates(parseReference('busybox')).map(String), ['m.io/library/busybox:latest']);
    assert.deepEqual(strict.pullCandidates(parseReference('r.io/x')).map(String), ['r.io/x:latest'], 'no map for r.io: the original stays');
  });

  it('close() waits for a running download; close(true) cuts it off', async () => {
    // a server that sends the headers and a first chunk, then never ends the body
    const server = http.createServer((_req, res) => { res.writeHead(200, { 'content-length': '1000000' }); res.write('x'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const abort of [false, true]) {
        const t = new Transport();
        const res = await undici().request(`http://${host}/blob`, { dispatcher: t.dispatcherFor(host, 'pull') });
        const body = (async () => { for await (const _ of res.body) { /* drain */ } })();
        body.catch(() => undefined);
        const closed = t.close(abort).then(() => 'closed');
        const first = await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 300))]);
        assert.equal(first, abort ? 'closed' : 'still open');
        if (abort) await assert.rejects(body);
        else {
          server.closeAllConnections(); // the download ends (cut off by the server): close() returns
          assert.equal(await closed, 'closed');
          await body.catch(() => undefined);
        }
      }
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
