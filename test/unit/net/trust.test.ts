// Which CAs TLS connections trust: Node's roots, the host's store (SSL_CERT_FILE, SSL_CERT_DIR, the
// distribution's bundle) and given extras. A real HTTPS server on loopback with a certificate from
// a CA made here (openssl) is reached through undici with the trusting connector.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { hostOnlyCertificates, trustingConnector } from '../../../src/net/trust';
import { undici } from '../../../src/net/undici';
import { run, tmpDir } from '../../support/testbed';

/** A CA and a server certificate for 127.0.0.1 that it signed. */
function makeCa(dir: string, name: string): { ca: string; cert: string; key: string } {
  const p = (f: string) => path.join(dir, `${name}-${f}`);
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${name} test CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('srv.key'), '-out', p('srv.csr')]);
  fs.writeFileSync(p('ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('openssl', ['x509', '-req', '-in', p('srv.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', p('ext'), '-out', p('srv.pem')]);
  return { ca: fs.readFileSync(p('ca.pem'), 'utf8'), cert: fs.readFileSync(p('srv.pem'), 'utf8'), key: fs.readFileSync(p('srv.key'), 'utf8') };
}

describe('net/trust (the CAs TLS connections trust)', function () {
  this.timeout(30000);
  const dir = tmpDir('drydock-trust-');
  const one = makeCa(dir, 'one');
  const two = makeCa(dir, 'two');
  const saved = { file: process.env.SSL_CERT_FILE, dir: process.env.SSL_CERT_DIR };
  afterEach(() => {
    for (const [k, v] of [['SSL_CERT_FILE', saved.file], ['SSL_CERT_DIR', saved.dir]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('reads SSL_CERT_FILE and every file of SSL_CERT_DIR, keeping only what Node\'s roots lack, once each', () => {
    const file = path.join(dir, 'bundle.pem');
    fs.writeFileSync(file, `${tls.rootCertificates[0]}\n${one.ca}\nnot a certificate\n`);
    const certDir = path.join(dir, 'certs');
    fs.mkdirSync(certDir);
    fs.writeFileSync(path.join(certDir, 'a.crt'), two.ca);
    fs.writeFileSync(path.join(certDir, 'b.pem'), `${one.ca}${two.ca}`);
    const got = hostOnlyCertificates({ SSL_CERT_FILE: file, SSL_CERT_DIR: `${certDir}:${path.join(dir, 'missing')}` });
    assert.deepEqual(got.map((p) => p.replace(/\s+/g, '')), [one.ca, two.ca].map((p) => p.trim().replace(/\s+/g, '')));
    assert.deepEqual(hostOnlyCertificates({ SSL_CERT_FILE: path.join(dir, 'missing.pem') }), [], 'an unreadable file adds nothing');
    assert.deepEqual(hostOnlyCertificates({ SSL_CERT_FILE: path.join(dir, 'missing.pem'), AWS_CA_BUNDLE: path.join(dir, 'one-ca.pem') }).map((p) => p.replace(/\s+/g, '')),
      [one.ca.trim().replace(/\s+/g, '')], 'the AWS SDK\'s AWS_CA_BUNDLE too');
  });

  describe('an HTTPS server whose CA is not among Node\'s roots', () => {
    let server: https.Server;
    let origin: string;
    before(async () => {
      server = https.createServer({ cert: one.cert, key: one.key }, (_req, res) => res.end('trusted'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    const get = async (connect: ReturnType<typeof trustingConnector>) => {
      const agent = new (undici().Agent)({ connect });
      try {
        const res = await undici().request(`${origin}/`, { dispatcher: agent });
        return await res.body.text();
      } finally {
        await agent.close();
      }
    };

    it('is refused without its CA', async () => {
      process.env.SSL_CERT_FILE = path.join(dir, 'missing.pem');
      await assert.rejects(get(trustingConnector()), /self[- ]signed|unable to (get|verify)|UNABLE_TO/i);
    });

    it('is trusted through SSL_CERT_FILE, SSL_CERT_DIR, or a CA given for the host', async () => {
      process.env.SSL_CERT_FILE = path.join(dir, 'one-ca.pem');
      assert.equal(await get(trustingConnector()), 'trusted');
      process.env.SSL_CERT_FILE = path.join(dir, 'missing.pem');
      const certDir = path.join(dir, 'kaniko-ssl-certs');
      fs.mkdirSync(certDir, { recursive: true });
      fs.copyFileSync(path.join(dir, 'one-ca.pem'), path.join(certDir, 'company.crt'));
      process.env.SSL_CERT_DIR = certDir;
      assert.equal(await get(trustingConnector()), 'trusted');
      delete process.env.SSL_CERT_DIR;
      assert.equal(await get(trustingConnector({ extraCa: [one.ca] })), 'trusted');
    });

    it('--skip-tls-verify (rejectUnauthorized: false) needs no CA', async () => {
      process.env.SSL_CERT_FILE = path.join(dir, 'missing.pem');
      assert.equal(await get(trustingConnector({ rejectUnauthorized: false })), 'trusted');
    });
  });
});
