import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { undici } from '../../../src/net/undici';

describe('net/undici (the slim loader)', () => {
  let server: http.Server;
  let origin: string;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/moved') { res.writeHead(302, { location: '/there?x=1' }); res.end(); return; }
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('gives the same Agent and interceptors as undici itself', () => {
    const full = require('undici') as typeof import('undici');
    assert.equal(undici().Agent, full.Agent);
    assert.equal(undici().interceptors.redirect, full.interceptors.redirect);
  });

  it('requests a URL with its path and query, with and without a dispatcher', async () => {
    const res = await undici().request(`${origin}/a/b?c=d`, { method: 'POST', body: 'hi' });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'POST /a/b?c=d hi');
    const agent = new (undici().Agent)();
    try {
      const r2 = await undici().request(new URL(`${origin}/x`), { dispatcher: agent });
      assert.equal(await r2.body.text(), 'GET /x ');
    } finally {
      await agent.close();
    }
  });

  it('follows redirects through the redirect interceptor', async () => {
    const agent = new (undici().Agent)();
    try {
      const d = agent.compose(undici().interceptors.redirect({ maxRedirections: 2 }));
      const res = await undici().request(`${origin}/moved`, { dispatcher: d });
      assert.equal(await res.body.text(), 'GET /there?x=1 ');
    } finally {
      await agent.close();
    }
  });

  it('does not load undici\'s index (fetch, WebSocket, cookies) nor wake Node\'s own copy', () => {
    const mod = path.join(__dirname, '../../../src/net/undici.js');
    const script = `const { undici } = require(${JSON.stringify(mod)}); undici();
      const loaded = Object.keys(require.cache).filter((f) => f.includes('node_modules/undici/'));
      console.log(JSON.stringify({ index: loaded.some((f) => f.endsWith('undici/index.js')), web: loaded.some((f) => f.includes('/lib/web/')), count: loaded.length, nodes: process.moduleLoadList.some((m) => m.includes('deps/undici')) }));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { index: boolean; web: boolean; count: number; nodes: boolean };
    assert.equal(seen.index, false);
    assert.equal(seen.web, false);
    assert.equal(seen.nodes, false, "Node's internal undici was loaded");
    assert.ok(seen.count > 10 && seen.count < 60, `loaded ${seen.count} undici modules`);
  });
});
