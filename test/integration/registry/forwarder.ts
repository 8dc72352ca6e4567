// A small loopback HTTP server that forwards to a REAL registry, for what a real registry will
// not do on demand: answer from another origin (upload Locations and blob redirects to a storage
// host), or refuse one request in a registry's odd way. `hook` sees every request first and may
// answer it itself or rewrite the registry's answer; every request is recorded with the
// Authorization it carried.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  authorization?: string;
}

export type Hook = (req: http.IncomingMessage) =>
  | { status: number; headers?: http.OutgoingHttpHeaders; body?: string }
  | { rewrite: (headers: http.IncomingHttpHeaders, status: number) => void; addHeaders?: http.OutgoingHttpHeaders }
  | undefined;

export interface Forwarder {
  host: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

export async function startForwarder(upstreamPort: number, hook?: Hook): Promise<Forwarder> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const h = hook?.(req);
    if (h && 'status' in h) {
      req.resume();
      res.writeHead(h.status, h.headers ?? {});
      res.end(h.body ?? '');
      return;
    }
    const headers = { ...req.headers, ...(h?.addHeaders ?? {}) };
    const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers }, (ures) => {
      const out = { ...ures.headers };
      h?.rewrite(out, ures.statusCode ?? 502);
      res.writeHead(ures.statusCode ?? 502, out);
      ures.pipe(res);
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
    port,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
