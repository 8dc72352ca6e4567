// Choose the isolation for `--isolation=chroot|none|auto` from what this process may actually
// do: capabilities from CapEff, and one real probe of mount rights (a capability can be granted
// while a seccomp or AppArmor profile still forbids mount(2)).
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { log, UserError } from '../../log';
import { CapabilitySet, readCapabilities } from './capabilities';
import { ChrootIsolation, Launcher } from './chroot';
import type { ProbeFs } from './container-detect';
import { findHostTools, hostProgram, HostTools, probeHostTools } from './host-tools';
import { NoneIsolation } from './none';
import type { Isolation } from './types';

export interface SelectOptions {
  /** `--force`: allow `none` outside a container */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  /** overrides for tests */
  caps?: CapabilitySet;
  tools?: HostTools;
  /** pretend mounts are forbidden (tests the plain-container path on a privileged host) */
  noMount?: boolean;
  launcher?: Launcher;
  probeFs?: ProbeFs;
  hostResolvConf?: string;
  /** the process's uid (tests) */
  uid?: number;
}

let mountProbe: boolean | undefined;
let mountProbing: Promise<boolean> | undefined;

/** Can we make a private mount namespace and mount a tmpfs in it? Tried once per process. */
export function canMountPrivately(tools: HostTools = findHostTools()): boolean {
  if (mountProbe !== undefined) return mountProbe;
  if (!tools.unshare || !tools.mount) return (mountProbe = false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-mount-probe-'));
  try {
    const r = spawnSync(tools.unshare, mountProbeArgs(tools, dir), { timeout: 5000, stdio: 'ignore' });
    mountProbe = r.status === 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return mountProbe;
}

/** canMountPrivately() without blocking this thread (the build resolves its bases meanwhile). */
export function probeMountRights(tools: Pick<HostTools, 'unshare' | 'mount'>): Promise<boolean> {
  if (mountProbe !== undefined) return Promise.resolve(mountProbe);
  if (!tools.unshare || !tools.mount) return Promise.resolve((mountProbe = false));
  const unshare = tools.unshare;
  mountProbing ??= fs.promises.mkdtemp(path.join(os.tmpdir(), 'drydock-mount-probe-')).then((dir) => new Promise<boolean>((resolve) => {
    execFile(unshare, mountProbeArgs(tools, dir), { timeout: 5000 }, (err) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve((mountProbe ??= !err));
    });
  }));
  return mountProbing;
}

const mountProbeArgs = (tools: Pick<HostTools, 'mount'>, dir: string) => ['--mount', '--propagation', 'private', '--', tools.mount!, '-t', 'tmpfs', 'none', dir];

/**
 * selectIsolation() with its probes run as child processes that do not block this thread: the
 * build starts this first and resolves its base images while they run.
 */
export async function chooseIsolation(requested: 'chroot' | 'none' | 'auto', opts: SelectOptions = {}): Promise<Isolation> {
  const caps = opts.caps ?? readCapabilities();
  // both probes at once: the mount probe needs only where unshare and mount are, not `unshare --help`
  const toolsProbe = opts.tools ? Promise.resolve(opts.tools) : probeHostTools();
  const where = opts.tools ?? { unshare: hostProgram('unshare'), mount: hostProgram('mount') };
  const mountProbe = !opts.noMount && caps.has('CAP_SYS_ADMIN') ? probeMountRights(where) : undefined;
  const tools = await toolsProbe;
  await mountProbe;
  return selectIsolation(requested, { ...opts, caps, tools });
}

export function selectIsolation(requested: 'chroot' | 'none' | 'auto', opts: SelectOptions = {}): Isolation {
  const caps = opts.caps ?? readCapabilities();
  const tools = opts.tools ?? findHostTools();
  const mayMount = !opts.noMount && caps.has('CAP_SYS_ADMIN') && canMountPrivately(tools);
  const chrootProblem = (): string | undefined => {
    const missing: string[] = caps.missing('CAP_SYS_CHROOT', 'CAP_SETUID', 'CAP_SETGID');
    if (!mayMount && !caps.has('CAP_MKNOD')) missing.push('CAP_MKNOD (or CAP_SYS_ADMIN to bind-mount /dev)');
    return missing.length ? `this process lacks ${missing.join(', ')}` : undefined;
  };
  // a non-root process has no capabilities at all: neither mode can build (none would unpack the
  // base image over / with someone else's rights), and the remedy is the user, not a capability
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  if (uid !== 0 && caps.missing('CAP_SYS_CHROOT', 'CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN').length > 0) {
    throw new UserError(`RUN needs root in the build container, but this process runs as uid ${uid} without capabilities: run the container as root (docker/podman --user 0, ECS task definition "user": "0"), as kaniko needs too`);
  }
  if (requested === 'chroot' || requested === 'auto') {
    const problem = chrootProblem();
    if (!problem) {
      return new ChrootIsolation({ caps, tools, mountNamespace: mayMount, launcher: opts.launcher, hostResolvConf: opts.hostResolvConf });
    }
    if (requested === 'chroot') {
      throw new UserError(`--isolation=chroot is impossible here: ${problem}. Grant it (Docker's default capabilities include SYS_CHROOT, MKNOD, SETUID, SETGID; do not drop them) or use --isolation=none inside a container`);
    }
    log.info(`isolation: chroot not possible (${problem}); using none`);
  }
  return new NoneIsolation({ caps, tools, canUnshareNet: mayMount, force: opts.force, env: opts.env, probeFs: opts.probeFs });
}
