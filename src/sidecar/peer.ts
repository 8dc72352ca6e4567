// Who is at the other end of the sidecar's socket: the kernel's answer (SO_PEERCRED), never what a
// client says about itself. Node has no getsockopt, so a tiny perl (perl-base is in every Debian
// image, the agent image's too) reads it from the connection's descriptor, handed to it as fd 3.
import { spawn } from 'node:child_process';
import type * as net from 'node:net';
import { hostProgram } from '../build/isolation/host-tools';

export interface Peer {
  uid: number;
  gid: number;
  /** how it was learnt: the kernel's credentials, or the socket's owner when those are unavailable */
  source: 'SO_PEERCRED' | 'socket owner';
}

const PEERCRED = 'use Socket; open(my $s, "+<&=", 3) or exit 2; my $c = getsockopt($s, SOL_SOCKET, SO_PEERCRED) or exit 3; my ($pid, $uid, $gid) = unpack("iII", $c); print "$uid $gid\\n";';

/** The connected process's uid and gid (struct ucred), or undefined when they cannot be read. */
export function peerCredentials(socket: net.Socket, timeoutMs = 5000): Promise<{ uid: number; gid: number } | undefined> {
  return new Promise((resolve) => {
    // the descriptor's number, not the stream: handing a stream to a child stops our reading it
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) {
      resolve(undefined);
      return;
    }
    // by absolute path, found once on the server's own PATH (as every host program we run as root)
    const perl = hostProgram('perl');
    if (!perl) {
      resolve(undefined);
      return;
    }
    let out = '';
    let child;
    try {
      child = spawn(perl, ['-e', PEERCRED], { stdio: ['ignore', 'pipe', 'ignore', fd], timeout: timeoutMs });
    } catch {
      resolve(undefined);
      return;
    }
    child.stdout!.on('data', (d: Buffer) => { out += d; });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      const m = /^(\d+) (\d+)\n$/.exec(out);
      resolve(code === 0 && m ? { uid: Number(m[1]), gid: Number(m[2]) } : undefined);
    });
  });
}

/**
 * The peer when the kernel cannot say: the socket's owner (--socket-owner), whom the mode lets
 * connect; with no owner, root when only root (and its group) may connect, else nobody.
 */
export function assumedPeer(owner: { uid: number; gid: number } | undefined, mode: number): Peer {
  if (owner) return { ...owner, source: 'socket owner' };
  return (mode & 0o007) === 0 ? { uid: 0, gid: 0, source: 'socket owner' } : { uid: 65534, gid: 65534, source: 'socket owner' };
}
