// Choose the isolation for `--isolation=chroot|none|auto` from what this process may actually
// do: capabilities from CapEff, and real probes (a capability can be granted while a seccomp or
// AppArmor profile still forbids mount(2)): of mount rights, and where there are none, of a user
// namespace in which a step could mount (user-namespace.ts).
import { log, UserError } from '../../log';
import { CapabilitySet, readCapabilities } from './capabilities';
import { ChrootIsolation, Launcher } from './chroot';
import type { ProbeFs } from './container-detect';
import { findHostTools, HostTools } from './host-tools';
import { mountProbe } from './mount-probe';
import { NoneIsolation } from './none';
import { canMountInUserNamespace, probeUserNamespace } from './user-namespace';
import type { Isolation } from './types';

export interface SelectOptions {
  /** `--force`: allow `none` outside a container */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  /** overrides for tests */
  caps?: CapabilitySet;
  tools?: HostTools;
  /** pretend mounts are forbidden (tests the container paths on a privileged host) */
  noMount?: boolean;
  /**
   * never own the step's namespaces by a user namespace (default: DRYDOCK_NO_USERNS=1 in env),
   * as where a seccomp profile forbids one (Docker's default)
   */
  noUserNamespace?: boolean;
  launcher?: Launcher;
  probeFs?: ProbeFs;
  hostResolvConf?: string;
  /** the process's uid (tests) */
  uid?: number;
}

const privateMounts = mountProbe(['--mount', '--propagation', 'private']);

/** Can we make a private mount namespace and mount a tmpfs in it? Tried once per process. */
export function canMountPrivately(tools: HostTools = findHostTools()): boolean {
  return privateMounts.ask(tools);
}

/** canMountPrivately() without blocking this thread. */
export function probeMountRights(tools: Pick<HostTools, 'unshare' | 'mount'>): Promise<boolean> {
  return privateMounts.probe(tools);
}

/**
 * selectIsolation() with its probes run as child processes that do not block this thread: the
 * build starts this first and resolves its base images while they run.
 */
export async function chooseIsolation(requested: 'chroot' | 'none' | 'auto', opts: SelectOptions = {}): Promise<Isolation> {
  const caps = opts.caps ?? readCapabilities();
  const tools = opts.tools ?? findHostTools(); // looks the programs up, starts none
  const mayMount = !opts.noMount && caps.has('CAP_SYS_ADMIN') && (await probeMountRights(tools));
  // a user namespace is asked about only where we may not mount ourselves
  if (!mayMount && mayUseUserNamespace(opts, caps)) await probeUserNamespace(tools);
  return selectIsolation(requested, { ...opts, caps, tools });
}

/** Whether a user namespace may be tried at all: we must be able to map our IDs into it. */
function mayUseUserNamespace(opts: SelectOptions, caps: CapabilitySet): boolean {
  const off = opts.noUserNamespace ?? (opts.env ?? process.env).DRYDOCK_NO_USERNS === '1';
  return !off && caps.missing('CAP_SETUID', 'CAP_SETGID').length === 0;
}

export function selectIsolation(requested: 'chroot' | 'none' | 'auto', opts: SelectOptions = {}): Isolation {
  const caps = opts.caps ?? readCapabilities();
  const tools = opts.tools ?? findHostTools();
  const mayMount = !opts.noMount && caps.has('CAP_SYS_ADMIN') && canMountPrivately(tools);
  // only chroot uses it: checked when chroot is wanted
  const userns = () => !mayMount && mayUseUserNamespace(opts, caps) && canMountInUserNamespace(tools);
  const chrootProblem = (): string | undefined => {
    const missing: string[] = caps.missing('CAP_SYS_CHROOT', 'CAP_SETUID', 'CAP_SETGID');
    if (!mayMount && !caps.has('CAP_MKNOD') && !userns()) missing.push('CAP_MKNOD (or CAP_SYS_ADMIN or a user namespace, to bind-mount /dev)');
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
      const inUserNamespace = userns();
      return new ChrootIsolation({ caps, tools, mountNamespace: mayMount || inUserNamespace, userNamespace: inUserNamespace, launcher: opts.launcher, hostResolvConf: opts.hostResolvConf });
    }
    if (requested === 'chroot') {
      throw new UserError(`--isolation=chroot is impossible here: ${problem}. Grant it (Docker's default capabilities include SYS_CHROOT, MKNOD, SETUID, SETGID; do not drop them) or use --isolation=none inside a container`);
    }
    log.info(`isolation: chroot not possible (${problem}); using none`);
  }
  return new NoneIsolation({ caps, tools, canUnshareNet: mayMount, force: opts.force, env: opts.env, probeFs: opts.probeFs });
}
