// A real HTTP proxy on loopback for tests: it answers CONNECT (how undici, Go and curl send both
// https and http requests through a proxy) by opening a TCP connection and relaying bytes both
// ways. `hosts` maps names that need not resolve (registry.drydock.test) to addresses, so a
// request that reached its target provably went through this proxy. Optional Basic credentials.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TestProxy {
  url: string;
  /** "host:port" of every CONNECT it accepted */
  tunnels: string[];
  close(): Promise<void>;
}

export async function startHttpProxy(opts: { hosts?: Record<string, string>; user?: string; pass?: string } = {}): Promise<TestProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => {
    res.writeHead(405, { 'content-type': 'text/plain' });
    res.end('this proxy only tunnels (CONNECT)\n');
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (opts.user !== undefined) {
      const expected = `Basic ${Buffer.from(`${opts.user}:${opts.pass ?? ''}`).toString('base64')}`;
      if (req.headers['proxy-authorization'] !== expected) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
    }
    const [name, port] = (req.url ?? '').split(/:(?=\d+$)/);
    const upstream = net.connect(Number(port), opts.hosts?.[name] ?? name, () => {
      tunnels.push(req.url ?? '');
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
