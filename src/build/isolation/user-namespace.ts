// RUN in a user namespace, where this process may not mount (an ordinary container: no
// CAP_SYS_ADMIN) but may create one (podman's default seccomp profile allows it, and so does no
// profile at all, a Kubernetes pod's default; Docker's default profile, and containerd's, does not). The step's mount, PID, UTS, IPC (and network)
// namespaces then belong to a new user namespace in which it may mount: the chroot isolation
// gives it /proc, /sys and /dev as on a host (ps, for one, needs /proc), real
// bind and tmpfs mounts, and a PID namespace that takes every process of the step down with it.
//
// IDs map to themselves (every range this process has), so what the step writes keeps its real
// owners and `USER 1000` is uid 1000 on disk. util-linux maps only the caller's own ID without
// newuidmap, so we write the maps, from this process (CAP_SETUID and CAP_SETGID in the parent
// namespace let it map any of its IDs, and keep setgroups(2) allowed): the step's shell tells us
// it is in the new namespace and waits until the maps are written (GATE_LINES, and runProcess's
// `gate`, which writes them).
// Inside, a step holds capabilities over its own namespaces only: it may not mknod devices.
import * as fs from 'node:fs';
import type { HostTools } from './host-tools';
import { mountProbe } from './mount-probe';

/**
 * The identity over every range of a /proc/PID/{uid,gid}_map text: "0 100000 65536" (IDs 0-65535
 * here) becomes "0 0 65536".
 */
export function identityMap(mapText: string): string {
  const lines: string[] = [];
  for (const line of mapText.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [inside, , count] = f.map(Number);
    if (!Number.isInteger(inside) || !Number.isInteger(count) || count <= 0) continue;
    lines.push(`${inside} ${inside} ${count}`);
  }
  if (lines.length === 0) throw new Error(`no ID ranges in "${mapText.trim()}"`);
  return lines.join('\n') + '\n';
}

/** Give the user namespace that process `pid` has just entered our own IDs, unchanged. */
export function writeIdentityMaps(pid: number): void {
  for (const kind of ['uid', 'gid'] as const) {
    const map = identityMap(fs.readFileSync(`/proc/self/${kind}_map`, 'utf8'));
    try {
      fs.writeFileSync(`/proc/${pid}/${kind}_map`, map);
    } catch (e) {
      throw new Error(`cannot write the ${kind} map of the step's user namespace: ${(e as Error).message}`);
    }
  }
}

/**
 * The shell lines a step's script starts with: say "in" on fd 3, wait for "go" (the maps are
 * written), then close fd 3 so that the step never sees it.
 */
export const GATE_LINES = [
  'echo in >&3 && IFS= read -r drydock_go <&3 && [ "$drydock_go" = go ] || { echo "drydock: the user namespace of this step was not set up" >&2; exit 125; }',
  'exec 3>&- 3<&-',
  'unset drydock_go',
];

// --map-root-user (util-linux maps our own ID) is enough to ask: mounting needs no other ID
const userNamespaceMounts = mountProbe(['--user', '--map-root-user', '--mount', '--propagation', 'private']);

/** Can we make a user namespace and mount a tmpfs in a mount namespace it owns? Once per process. */
export function canMountInUserNamespace(tools: Pick<HostTools, 'unshare' | 'mount'>): boolean {
  return userNamespaceMounts.ask(tools);
}

/** canMountInUserNamespace() without blocking this thread. */
export function probeUserNamespace(tools: Pick<HostTools, 'unshare' | 'mount'>): Promise<boolean> {
  return userNamespaceMounts.probe(tools);
}
