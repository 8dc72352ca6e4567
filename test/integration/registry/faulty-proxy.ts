// A small loopback HTTP proxy in front of a REAL registry, for the two failures a real registry
// will not produce on demand: transient 503s (retry tests) and corrupted blob bytes (digest
// verification tests). Everything else is forwarded unchanged to the registry.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultyProxyOptions {
  /** Answer this many requests (in arrival order) with 503 + Retry-After: 0 before forwarding. */
  failFirst?: number;
  /** Only requests for which this is true count towards failFirst (default: all). */
  failWhen?: (method: string, url: string) => boolean;
  /** The failures' status and JSON body (default 503, UNAVAILABLE). */
  failWith?: { status: number; body: string };
  /** Flip a byte in every blob body (GET /v2/…/blobs/sha256:…). */
  corruptBlobs?: boolean;
}

export interface FaultyProxy {
  host: string;
  /** Requests seen, "METHOD path" in order. */
  seen: string[];
  close(): Promise<void>;
}

export async function startFaultyProxy(upstreamPort: number, opts: FaultyProxyOptions): Promise<FaultyProxy> {
  let failures = opts.failFirst ?? 0;
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (failures > 0 && (!opts.failWhen || opts.failWhen(req.method ?? '', req.url ?? ''))) {
      failures--;
      req.resume();
      res.writeHead(opts.failWith?.status ?? 503, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(opts.failWith?.body ?? '{"errors":[{"code":"UNAVAILABLE","message":"service unavailable (test proxy)"}]}');
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (ures) => {
      const corrupt = opts.corruptBlobs && req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '') && ures.statusCode === 200;
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      if (!corrupt) {
        ures.pipe(res);
        return;
      }
      let first = true;
      ures.on('data', (chunk: Buffer) => {
        if (first) {
          chunk = Buffer.from(chunk);
          chunk[0] ^= 0xff;
          first = false;
        }
        res.write(chunk);
      });
      ures.on('end', () => res.end());
    });
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
