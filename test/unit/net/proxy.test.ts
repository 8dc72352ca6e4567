// Proxies from the environment, by Go's rules (golang.org/x/net/http/httpproxy), and requests
// through a real CONNECT proxy on loopback (test/support/http-proxy.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { newAgent } from '../../../src/net/agents';
import { proxyFor, proxyFromEnv } from '../../../src/net/proxy';
import { undici } from '../../../src/net/undici';
import { startHttpProxy, type TestProxy } from '../../support/http-proxy';
import { run, tmpDir } from '../../support/testbed';

describe('net/proxy', function () {
  this.timeout(30000);

  describe('which requests go through a proxy (Go\'s rules)', () => {
    const via = (env: NodeJS.ProcessEnv, url: string) => {
      const s = proxyFromEnv(env);
      return s ? proxyFor(s, new URL(url))?.href : undefined;
    };

    it('no proxy variables: none', () => {
      assert.equal(proxyFromEnv({}), undefined);
    });

    it('HTTPS_PROXY for https URLs, HTTP_PROXY for http ones; a proxy without a scheme is http://; upper case wins', () => {
      const env = { HTTPS_PROXY: 'proxy.corp:3128', HTTP_PROXY: 'http://plain.corp:8080', https_proxy: 'http://lower.corp:1' };
      assert.equal(via(env, 'https://registry.example.com/v2/'), 'http://proxy.corp:3128/');
      assert.equal(via(env, 'http://registry.example.com/v2/'), 'http://plain.corp:8080/');
      assert.equal(via({ https_proxy: 'http://lower.corp:1' }, 'https://x.example.com/'), 'http://lower.corp:1/');
      assert.equal(via({ HTTP_PROXY: 'http://plain.corp:8080' }, 'https://x.example.com/'), undefined, 'HTTP_PROXY does not carry https');
    });

    it('never proxies localhost or loopback addresses', () => {
      const env = { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1' };
      for (const u of ['http://localhost:5000/', 'https://127.0.0.1:5000/', 'http://127.8.9.10/', 'https://[::1]:443/']) assert.equal(via(env, u), undefined, u);
    });

    it('NO_PROXY: *, names with their subdomains, .names and *.names for subdomains only, IPs, CIDR ranges, ports', () => {
      const env = { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'internal.corp, .svc.corp,*.ecr.example, 10.1.2.3, 192.168.0.0/16, only-port.corp:8443' };
      const direct = ['https://internal.corp/', 'https://reg.internal.corp/', 'https://a.svc.corp/', 'https://x.ecr.example/', 'https://10.1.2.3/', 'https://192.168.44.5:5000/', 'https://only-port.corp:8443/'];
      const proxied = ['https://notinternal.corp/', 'https://svc.corp/', 'https://ecr.example/', 'https://10.1.2.4/', 'https://192.169.0.1/', 'https://only-port.corp/'];
      for (const u of direct) assert.equal(via(env, u), undefined, u);
      for (const u of proxied) assert.equal(via(env, u), 'http://p:1/', u);
      assert.equal(via({ HTTPS_PROXY: 'http://p:1', no_proxy: '*' }, 'https://any.where/'), undefined);
    });

    it('refuses a proxy URL it cannot use, naming the variable', () => {
      assert.throws(() => proxyFromEnv({ HTTPS_PROXY: 'ftp://p:1' }), /HTTPS_PROXY: unsupported proxy scheme "ftp"/);
      assert.throws(() => proxyFromEnv({ http_proxy: 'http://[bad' }), /http_proxy: invalid proxy URL/);
    });
  });

  describe('requests through a CONNECT proxy', () => {
    let proxy: TestProxy;
    let plain: http.Server;
    let secure: https.Server;
    let plainPort: number;
    let securePort: number;
    let ca: string;
    before(async () => {
      // a CA and a certificate for the name the proxy maps to 127.0.0.1
      const dir = tmpDir('drydock-proxy-');
      const p = (f: string) => path.join(dir, f);
      run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=proxy test CA',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
      run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=registry.drydock.test', '-keyout', p('srv.key'), '-out', p('srv.csr')]);
      fs.writeFileSync(p('ext'), 'subjectAltName=DNS:registry.drydock.test\n');
      run('openssl', ['x509', '-req', '-in', p('srv.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('ext'), '-out', p('srv.pem')]);
      ca = fs.readFileSync(p('ca.pem'), 'utf8');
      plain = http.createServer((req, res) => res.end(`plain ${req.headers.host}`));
      secure = https.createServer({ cert: fs.readFileSync(p('srv.pem')), key: fs.readFileSync(p('srv.key')) }, (req, res) => res.end(`secure ${req.headers.host}`));
      await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
      await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
      plainPort = (plain.address() as AddressInfo).port;
      securePort = (secure.address() as AddressInfo).port;
      proxy = await startHttpProxy({ hosts: { 'registry.drydock.test': '127.0.0.1' }, user: 'proxyuser', pass: 'pr0xy-s3cret' });
    });
    after(async () => {
      await proxy.close();
      plain.close();
      secure.close();
    });

    const get = async (url: string, env: NodeJS.ProcessEnv, extraCa?: string[]) => {
      const agent = newAgent({ extraCa }, {}, env);
      try {
        const res = await undici().request(url, { dispatcher: agent });
        return `${res.statusCode} ${await res.body.text()}`;
      } finally {
        await agent.close();
      }
    };
    const withCreds = () => proxy.url.replace('http://', 'http://proxyuser:pr0xy-s3cret@');

    it('reaches a name only the proxy knows, over http and over https (TLS through the tunnel, the CA trusted)', async () => {
      const env = { HTTP_PROXY: withCreds(), HTTPS_PROXY: withCreds() };
      assert.equal(await get(`http://registry.drydock.test:${plainPort}/x`, env), `200 plain registry.drydock.test:${plainPort}`);
      assert.equal(await get(`https://registry.drydock.test:${securePort}/x`, env, [ca]), `200 secure registry.drydock.test:${securePort}`);
      assert.deepEqual(proxy.tunnels.slice(-2), [`registry.drydock.test:${plainPort}`, `registry.drydock.test:${securePort}`]);
    });

    it('goes direct for NO_PROXY hosts and loopback, and fails through a proxy that refuses the credentials', async () => {
      const before = proxy.tunnels.length;
      assert.equal(await get(`http://127.0.0.1:${plainPort}/`, { HTTP_PROXY: withCreds() }), `200 plain 127.0.0.1:${plainPort}`);
      await assert.rejects(get(`http://registry.drydock.test:${plainPort}/`, { HTTP_PROXY: withCreds(), NO_PROXY: 'drydock.test' }), /ENOTFOUND|EAI_AGAIN/);
      assert.equal(proxy.tunnels.length, before, 'nothing went through the proxy');
      await assert.rejects(get(`http://registry.drydock.test:${plainPort}/`, { HTTP_PROXY: proxy.url }), /Proxy response \(407\)/);
    });
  });
});
