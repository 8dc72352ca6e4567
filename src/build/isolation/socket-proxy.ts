// A unix socket inside a step's root that forwards every connection to a socket on the host: how
// RUN --mount=type=ssh hands the step an SSH agent. A listening socket made in the root works
// whether the step gets mounts or not (an ordinary container cannot bind-mount the agent in), and
// never copies a key: the agent keeps them, the step only asks it to sign.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export interface SocketProxy {
  /** stop listening (the socket file goes) and cut open connections */
  close(): Promise<void>;
}

/**
 * Listen at `at` (a host path, however long: a unix socket address holds ~107 bytes, so it is
 * bound through /proc/self/fd/N of its directory) and relay each connection to `upstream`.
 */
export async function listenProxy(at: string, upstream: string, perm: { mode: number; uid: number; gid: number }): Promise<SocketProxy> {
  const dirFd = fs.openSync(path.dirname(at), 'r');
  const conns = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(upstream);
    const end = (): void => {
      down.destroy();
      up.destroy();
      conns.delete(down);
      conns.delete(up);
    };
    conns.add(down);
    conns.add(up);
    for (const s of [down, up]) {
      s.on('error', end);
      s.on('close', end);
    }
    down.pipe(up);
    up.pipe(down);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(`/proc/self/fd/${dirFd}/${path.basename(at)}`, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    fs.closeSync(dirFd);
  }
  server.unref();
  fs.chmodSync(at, perm.mode);
  fs.chownSync(at, perm.uid, perm.gid);
  return {
    close: () => new Promise<void>((resolve) => {
      for (const c of conns) c.destroy();
      server.close(() => {
        fs.rmSync(at, { force: true }); // (bound through /proc, libuv may not find it to unlink)
        resolve();
      });
    }),
  };
}
