// `--isolation=chroot`: the image root is a private directory and each RUN runs there through
// chroot(2). Two shapes, chosen once by selectIsolation:
//  * plain (ordinary container, Docker's default capabilities: SYS_CHROOT, MKNOD, SETUID, SETGID):
//    /dev nodes are mknod'ed into the root for the step and removed after it;
//  * with a private mount namespace (CAP_SYS_ADMIN and mounts permitted, e.g. root on a host):
//    unshare(1) --mount --pid --uts --ipc [--net], then /proc, /sys (ro), a tmpfs /dev with the
//    nodes, /dev/pts and /dev/shm mounted on the root; all of it vanishes with the namespace;
//  * the same in a new user namespace (user-namespace.ts), where we may not mount but may make
//    one: /proc and /sys are the container's own bound in when a fresh one is refused, and the
//    /dev nodes are bound from ours (a user namespace may not mknod).
// resolv.conf, hosts and hostname are supplied per step in both shapes and put back afterwards.
//
// Dropping to the step's user has to happen after chroot(2) (which needs CAP_SYS_CHROOT) and
// the working directory has to be entered after it too, so neither Node's spawn uid/gid nor its
// cwd can be used. Launchers, best first:
//  * util-linux: `setpriv --regid=G --groups=..|--clear-groups -- nsenter --root=R --wd=R/W -S U -- argv`
//    (setpriv keeps uid 0, so the capabilities survive until nsenter chroots, chdirs and setuids;
//    nsenter without namespaces calls neither setns(2) nor unshare(2), which Docker's default
//    seccomp profile refuses to a process without CAP_SYS_ADMIN, as `unshare --root` would);
//  * coreutils: `chroot --userspec=U:G --groups=.. R argv`; a WORKDIR other than / then needs the
//    image's own /bin/sh (`cd W && exec argv`), because chroot(1) always changes to /;
//  * busybox-only hosts: `chroot R argv` runs as root only: a USER other than 0 fails with an error
//    naming util-linux, and a WORKDIR other than / again needs the image's /bin/sh.
// Host tools run with a clean environment; the step's environment starts at `env -i K=V ...`, the
// last host program before the step (setpriv/unshare still see it: an image's LD_PRELOAD is
// applied to them too, as it would be by any runtime's exec).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { deviceNumbers } from '../../fs/walk';
import { UserError } from '../../log';
import { boundingArgs, type CapabilitySet } from './capabilities';
import { HostTools, hostProgram } from './host-tools';
import { originPathEntry } from './origin-path';
import { stepJail } from './step-jail';
import { resolveInRoot } from './root-path';
import { CopyMounts } from './copy-mounts';
import { giveBackFifos, runProcess, takeFifos, validateSpec } from './spawn-step';
import { StepFiles, StepItem } from './step-files';
import type { Isolation, RunResult, RunSpec } from './types';
import { GATE_LINES, writeIdentityMaps } from './user-namespace';

export type Launcher = 'util-linux' | 'coreutils' | 'busybox';

export interface ChrootOptions {
  caps: CapabilitySet;
  tools: HostTools;
  /** use a private mount namespace (decided by selectIsolation after probing) */
  mountNamespace: boolean;
  /** own it by a new user namespace, for want of mount rights here (implies mountNamespace) */
  userNamespace?: boolean;
  /** force a launcher (tests); default: the best one the host has */
  launcher?: Launcher;
  /** host files copied in for each step (default /etc/resolv.conf, /etc/hosts for network=host) */
  hostResolvConf?: string;
  hostHosts?: string;
  /** make each /dev node with mknod rather than copying the host's (tests the fallback) */
  devNodesOneByOne?: boolean;
}

/** The nodes every runtime provides: name, major, minor (mode 0666). */
export const DEV_NODES: Array<[string, number, number]> = [
  ['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0],
];

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function pickLauncher(tools: HostTools): Launcher | undefined {
  if (tools.setpriv && tools.nsenter && tools.utilLinuxLauncher) return 'util-linux';
  if (tools.chroot && tools.chrootUserspec) return 'coreutils';
  if (tools.chroot) return 'busybox';
  return undefined;
}

export class ChrootIsolation implements Isolation {
  readonly name = 'chroot' as const;
  private readonly launcher: Launcher;
  private readonly transient = new Set<string>();

  constructor(private readonly opts: ChrootOptions) {
    const l = opts.launcher ?? pickLauncher(opts.tools);
    if (!l) throw new UserError('--isolation=chroot: no chroot program on this host: install util-linux (setpriv, unshare) or coreutils');
    this.launcher = l;
  }

  describe(): string {
    const ns = this.opts.userNamespace ? 'yes, in a user namespace' : this.opts.mountNamespace ? 'yes' : 'no';
    return `chroot (mount namespace: ${ns}, launcher: ${this.launcher}${ns === 'no' ? '; steps have no /proc' : ''})`;
  }

  get stepLimits(): string | undefined {
    if (this.opts.mountNamespace || this.opts.userNamespace) return undefined;
    return 'RUN steps here have no /proc (this container may neither mount nor make a user namespace), and programs that need it fail (java starts: it is given LD_ORIGIN_PATH): '
      + 'allow user namespaces or CAP_SYS_ADMIN, or use --isolation=none';
  }

  transientPaths(): string[] {
    return [...this.transient].sort();
  }

  async run(spec: RunSpec): Promise<RunResult> {
    validateSpec(spec);
    if (!path.isAbsolute(spec.rootfs)) throw new Error(`RunSpec.rootfs "${spec.rootfs}" must be absolute`);
    const root = path.resolve(spec.rootfs);
    const ns = this.opts.mountNamespace || !!this.opts.userNamespace;
    if (!ns && spec.network === 'none') {
      throw new UserError('RUN --network=none needs a network namespace, which needs CAP_SYS_ADMIN (and mount rights): not available to this process');
    }
    if (!ns && (spec.tmpfs?.length ?? 0) > 0) {
      throw new UserError(`RUN --mount=type=tmpfs at ${spec.tmpfs![0]} needs a mount namespace, which needs CAP_SYS_ADMIN: not available to this process (other mounts are copied in without it)`);
    }
    // A missing WORKDIR is created for real: it belongs to the layer, as with Docker. Owned by the
    // step's user, as BuildKit's and buildah's executors make it (runc alone would leave it root's).
    const { hostPath: workdir, created } = await resolveInRoot(root, spec.workdir, { create: true });
    if (spec.uid !== 0 || spec.gid !== 0) for (const d of created) await fsp.lchown(path.join(root, d), spec.uid, spec.gid);
    // no /proc: glibc's $ORIGIN comes from LD_ORIGIN_PATH instead, which java needs (origin-path.ts)
    const origin = ns ? undefined : originPathEntry(root, spec.env);
    if (origin) spec = { ...spec, env: [...spec.env, origin] };
    const argvTail = this.launcherArgv(root, workdir, spec);

    // Without namespaces the step has no /proc, so /dev/stdout (a link into /proc/self/fd) cannot
    // work: its output FIFOs are linked in as /dev/stdout and /dev/stderr instead, for the step only
    // (else a step writing to /dev/stdout made a regular file, which a layer kept).
    const fifos = !ns && spec.scratch ? takeFifos(spec.scratch) : undefined;
    const items = await this.stepItems(spec);
    if (fifos) {
      items.push({ kind: 'link', path: '/dev/stdout', target: fifos.out, onlyIfMissing: true });
      items.push({ kind: 'link', path: '/dev/stderr', target: fifos.err, onlyIfMissing: true });
    }
    const files = new StepFiles(root, (p, mode, maj, min) => this.mknod(p, mode, maj, min));
    // without mount rights (an ordinary container, Fargate) mounts are copies for the step
    const copies = ns ? undefined : new CopyMounts(root);
    // Without namespaces /dev, /proc and /sys are the image's own directories, not a tmpfs, procfs
    // and sysfs: what a step adds there is dropped after it (see dropStepAdditions).
    const mountPoints = ns ? [] : SYSTEM_MOUNT_POINTS.map((d) => mountPointAsItWas(path.join(root, d)));
    try {
      await files.place(items);
      copies?.place(spec.binds ?? []);
      for (const p of [...files.everPlaced, ...(copies?.targets ?? [])]) this.transient.add(p);
      const argv = ns ? await this.namespaceArgv(root, spec, argvTail) : argvTail;
      // without a PID namespace, a process the step left that escaped its group still has our root
      const stragglers = ns ? undefined : () => killProcessesRootedAt(root);
      return await runProcess(argv, spec, { PATH: hostToolPath() }, { gate: this.opts.userNamespace ? writeIdentityMaps : undefined, fifos, afterExit: stragglers });
    } finally {
      copies?.restore();
      // before the step files go back, so that they find their parents as they left them
      for (const m of mountPoints) dropStepAdditions(m);
      await files.restore();
      if (fifos) giveBackFifos(spec.scratch!, fifos);
    }
  }

  private async stepItems(spec: RunSpec): Promise<StepItem[]> {
    const hostname = spec.hostname ?? 'drydock';
    const resolv = await readOr(this.opts.hostResolvConf ?? '/etc/resolv.conf', '');
    let hosts = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
    if (spec.network === 'host') hosts = await readOr(this.opts.hostHosts ?? '/etc/hosts', hosts);
    hosts += `127.0.1.1\t${hostname}\n`;
    const items: StepItem[] = [
      { kind: 'file', path: '/etc/resolv.conf', content: resolv, mode: 0o644 },
      { kind: 'file', path: '/etc/hosts', content: hosts, mode: 0o644 },
      { kind: 'file', path: '/etc/hostname', content: hostname + '\n', mode: 0o644 },
      ...(spec.agentSockets ?? []).map((s): StepItem => ({ kind: 'socket', path: s.target, upstream: s.upstream, mode: s.mode, uid: s.uid, gid: s.gid })),
    ];
    if (this.opts.mountNamespace || this.opts.userNamespace) {
      for (const d of ['/proc', '/sys', '/dev']) items.push({ kind: 'dir', path: d, onlyIfMissing: true });
      for (const b of spec.binds ?? []) {
        const st = await fsp.stat(b.source).catch(() => {
          throw new UserError(`RUN --mount source "${b.source}" does not exist on the host`);
        });
        items.push(st.isDirectory()
          ? { kind: 'dir', path: b.target, onlyIfMissing: true }
          : { kind: 'file', path: b.target, content: '', mode: 0o644, onlyIfMissing: true });
      }
      for (const t of spec.tmpfs ?? []) items.push({ kind: 'dir', path: t, onlyIfMissing: true });
    } else {
      items.push({ kind: 'dir', path: '/dev', onlyIfMissing: true });
      const missing: string[] = [];
      for (const [name, major, minor] of DEV_NODES) {
        const { hostPath } = await resolveInRoot(spec.rootfs, `/dev/${name}`, { followLast: false });
        if (!fs.existsSync(hostPath) && !isSymlink(hostPath)) missing.push(name);
        items.push({ kind: 'char', path: `/dev/${name}`, major, minor, mode: 0o666, onlyIfMissing: true });
      }
      if (missing.length > 0 && !this.opts.caps.has('CAP_MKNOD')) {
        throw new UserError(`--isolation=chroot: the image has no /dev/${missing.join(', /dev/')} and this process may neither create device nodes (CAP_MKNOD missing) nor bind-mount them (CAP_SYS_ADMIN missing): add CAP_MKNOD (it is in Docker's default set; podman needs --cap-add=MKNOD)`);
      }
    }
    return items;
  }

  /**
   * The launcher part: from the host's root into the image root as the step's user. `workdir`:
   * spec.workdir on the host, its links resolved in the root.
   */
  private launcherArgv(root: string, workdir: string, spec: RunSpec): string[] {
    const t = this.opts.tools;
    const envArgs = [t.env ?? '/usr/bin/env', '-i', ...spec.env];
    const groups = spec.groups ?? [];
    const inWorkdir = (argv: string[]) =>
      spec.workdir === '/' ? argv : ['/bin/sh', '-c', 'cd -- "$1" || exit 126; shift; exec "$@"', 'sh', spec.workdir, ...argv];
    // the bound is set last before the chroot: the namespace's own mounts (namespaceArgv) need more
    const bound = boundingArgs(spec);
    const bounded = t.setpriv && bound.length ? [t.setpriv, ...bound, '--'] : [];
    switch (this.launcher) {
      case 'util-linux':
        return [
          ...envArgs, t.setpriv!, `--regid=${spec.gid}`, groups.length ? `--groups=${groups.join(',')}` : '--clear-groups', ...bound, '--',
          t.nsenter!, `--root=${root}`, `--wd=${workdir}`, '-S', String(spec.uid), '--', ...spec.argv,
        ];
      case 'coreutils':
        return [
          ...envArgs, ...bounded, t.chroot!, `--userspec=${spec.uid}:${spec.gid}`, `--groups=${groups.join(',')}`,
          root, ...inWorkdir(spec.argv),
        ];
      case 'busybox':
        if (spec.uid !== 0 || spec.gid !== 0 || groups.length > 0) {
          throw new UserError(`RUN as uid ${spec.uid} gid ${spec.gid}: this host's chroot cannot change user; install util-linux (setpriv, nsenter) or coreutils in the executor image`);
        }
        return [...envArgs, ...bounded, t.chroot!, root, ...inWorkdir(spec.argv)];
    }
  }

  /** Wrap the launcher in unshare + a host shell that mounts /proc, /sys, /dev and the binds. */
  private async namespaceArgv(root: string, spec: RunSpec, tail: string[]): Promise<string[]> {
    const t = this.opts.tools;
    const at = async (p: string) => shq((await resolveInRoot(root, p)).hostPath);
    const hostOf = async (p: string) => (await resolveInRoot(root, p)).hostPath;
    const [devPath, procPath, sysPath] = [await hostOf('/dev'), await hostOf('/proc'), await hostOf('/sys')];
    const [dev, proc, sys] = [devPath, procPath, sysPath].map(shq);
    // The usual mounts go in two `mount --all --fstab` (one program for several mounts: ~1 ms each
    // saved, every RUN); if one of a table fails (a sysfs we may not mount), they go one by one
    // as before, where a missing /sys is tolerated.
    const userns = !!this.opts.userNamespace;
    // The root is bound onto itself nodev first (the mounts below go on top of that): a device
    // node a step makes there (mknod /tmp/disk b 7 0) cannot be opened, as Docker's device cgroup
    // refuses it; the step's own /dev is a tmpfs of its own, where the standard nodes work.
    const rootQ = shq(root);
    const early = userns ? null : fstabFile([
      [root, root, 'none', 'bind,nodev'],
      ['proc', procPath, 'proc', 'nosuid,nodev,noexec'],
      ['sysfs', sysPath, 'sysfs', 'ro,nosuid,nodev,noexec'],
      ['tmpfs', devPath, 'tmpfs', 'nosuid,noexec,mode=0755,size=65536k'],
    ]);
    const lines = [
      ...(userns ? GATE_LINES : []),
      'set -e',
      // every mount below $1 (from mountinfo, whose octal escapes printf undoes) made read-only
      `readOnlyBelow() { while read -r _ _ _ _ m _; do m=$(printf '%b' "$m"); case "$m" in "$1"/*) mount -o remount,bind,ro "$m";; esac; done < /proc/self/mountinfo; }`,
      `${early ? `mount --all --fstab ${shq(early)} 2>/dev/null || ` : ''}{`,
      `mount --bind ${rootQ} ${rootQ} && mount -o remount,bind,nodev ${rootQ}`,
      // a container's runtime masks parts of its /proc, and the kernel then refuses a fresh one to a
      // user namespace: the container's own is bound in instead (its PIDs are the container's)
      `mount -t proc -o nosuid,nodev,noexec proc ${proc}${userns ? ` 2>/dev/null || mount --rbind /proc ${proc}` : ''}`,
      // a fresh sysfs needs a network namespace of ours; else the host's, bound read-only, the
      // mounts below it too (cgroups: a step must not write the host's)
      `mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${sys} 2>/dev/null || { mount --rbind /sys ${sys} && mount -o remount,bind,ro,nosuid,nodev,noexec ${sys} && readOnlyBelow ${sys}; } 2>/dev/null || true`,
      `mount -t tmpfs -o nosuid,noexec,mode=0755,size=65536k tmpfs ${dev}`,
      '}',
    ];
    // What runc makes read-only in /proc: kernel settings (a root step could otherwise set the
    // host's, core_pattern among them: code run as root on the host) and sysrq-trigger (reboot).
    // (those this kernel has: one missing entry would fail the whole table)
    const procReadOnly = PROC_READ_ONLY.filter((p) => fs.existsSync(`/proc/${p}`)).map((p) => `${procPath}/${p}`);
    // (mounted with the late table below: one program fewer per RUN)
    const procRoEntries = procReadOnly.map((p): [string, string, string, string] => [p, p, 'none', 'bind,ro']);
    const procRoOneByOne = procReadOnly.map((p) => `[ ! -e ${shq(p)} ] || { mount --bind ${shq(p)} ${shq(p)} && mount -o remount,bind,ro ${shq(p)}; }`);
    const links = [
      `mkdir ${dev}/pts ${dev}/shm`,
      `ln -s /proc/self/fd ${dev}/fd; ln -s /proc/self/fd/0 ${dev}/stdin; ln -s /proc/self/fd/1 ${dev}/stdout; ln -s /proc/self/fd/2 ${dev}/stderr; ln -s pts/ptmx ${dev}/ptmx`,
    ];
    const bindNode = (name: string) => `{ : > ${dev}/${name}; mount --bind /dev/${name} ${dev}/${name}; }`;
    const template = this.opts.devNodesOneByOne ? null : devTemplate();
    if (userns) {
      // no mknod in a user namespace: our nodes are bound in (one program for all where it can)
      const binds = fstabFile(DEV_NODES.map(([name]): [string, string, string, string] => [`/dev/${name}`, `${devPath}/${name}`, 'none', 'bind']));
      lines.push(template ? `cp -a ${shq(template)}/. ${dev}/` : links.join('\n'));
      lines.push(DEV_NODES.map(([name]) => `: > ${dev}/${name}`).join('; '));
      const each = DEV_NODES.map(([name]) => bindNode(name)).join('\n');
      lines.push(binds ? `mount --all --fstab ${shq(binds)} 2>/dev/null || {\n${each}\n}` : each);
    } else {
      const oneByOne = [
        ...DEV_NODES.map(([name, major, minor]) => `mknod -m 666 ${dev}/${name} c ${major} ${minor} 2>/dev/null || ${bindNode(name)}`),
        ...links,
      ];
      // One cp instead of a dozen programs (~12 ms of every RUN): the host's own nodes (checked to be
      // the standard ones) and a template of the directories and links. Else, or if cp fails, one by one.
      if (template) {
        const nodes = DEV_NODES.map(([name]) => `/dev/${name}`).join(' ');
        lines.push(`cp -a ${nodes} ${shq(template)}/. ${dev}/ 2>/dev/null || {`, `rm -rf ${dev}/*`, ...oneByOne, '}');
      } else {
        lines.push(...oneByOne);
      }
    }
    const late = fstabFile([
      ...procRoEntries,
      ['devpts', `${devPath}/pts`, 'devpts', 'newinstance,ptmxmode=0666,mode=0620,nosuid,noexec'],
      ['shm', `${devPath}/shm`, 'tmpfs', 'nosuid,nodev,noexec,mode=1777'],
    ]);
    lines.push(
      `${late ? `mount --all --fstab ${shq(late)} 2>/dev/null || ` : ''}{`,
      ...procRoOneByOne,
      `mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts ${dev}/pts 2>/dev/null || true`,
      `mount -t tmpfs -o nosuid,nodev,noexec,mode=1777 shm ${dev}/shm`,
      '}',
    );
    for (const b of spec.binds ?? []) {
      const target = await at(b.target);
      lines.push(`mount --rbind ${shq(b.source)} ${target}`);
      if (b.readonly) lines.push(`mount -o remount,bind,ro ${target}`);
    }
    for (const d of spec.tmpfs ?? []) lines.push(`mount -t tmpfs -o mode=1777 tmpfs ${await at(d)}`);
    // the step's UTS namespace takes its name from a write to the proc just mounted (no program to start)
    const hostname = shq(spec.hostname ?? 'drydock');
    lines.push(`{ echo ${hostname} > ${proc}/sys/kernel/hostname; } 2>/dev/null || hostname ${hostname} 2>/dev/null || true`);
    if (spec.network === 'none') lines.push(`${t.ip ? shq(t.ip) : 'ip'} link set lo up 2>/dev/null || true`);
    // last: the namespace's root becomes the jail (step-jail.ts), so leaving the chroot leads nowhere
    const [pivotRoot, umount] = [hostProgram('pivot_root'), hostProgram('umount')];
    const jail = pivotRoot && umount ? stepJail(root, tail, [t.env, t.setpriv, t.nsenter, t.chroot, umount]) : null;
    if (jail) {
      // one program for all where mount reads a table (util-linux); else two per mount, as
      // busybox's mount does not apply ro or nodev to a bind in the same call
      const table = fstabFile(jail.mounts);
      const oneByOne = jail.mounts.map(([src, dst, , o]) => {
        const [kind, flag] = o.split(',');
        return `mount --${kind} ${shq(src)} ${shq(dst)} && mount -o remount,bind,${flag} ${shq(dst)}`;
      });
      lines.push(table ? `mount --all --fstab ${shq(table)} 2>/dev/null || {\n${oneByOne.join('\n')}\n}` : oneByOne.join('\n'));
      lines.push(`cd ${shq(jail.dir)}`, `${shq(pivotRoot!)} . .old`, 'cd /', `${shq(umount!)} -l /.old`);
    }
    lines.push('exec "$@"');
    const flags = [...(userns ? ['--user'] : []), '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--uts', '--ipc'];
    if (spec.network === 'none') flags.push('--net');
    // Should the executor be killed outright (SIGKILL, the OOM killer), the kernel kills unshare,
    // and unshare (--kill-child) the step's PID namespace with every process in it.
    const orphanGuard = t.setpriv && t.setprivPdeathsig ? [t.setpriv, '--pdeathsig', 'KILL', '--'] : [];
    return [...orphanGuard, t.unshare!, ...flags, '--', t.sh ?? '/bin/sh', '-c', lines.join('\n'), 'drydock-step', ...(jail?.argv ?? tail)];
  }

  private async mknod(hostPath: string, mode: number, major: number, minor: number): Promise<void> {
    const bin = this.opts.tools.mknod;
    if (!bin) throw new UserError('--isolation=chroot: no mknod program on this host to create /dev nodes in the image root');
    const r = await runProcess([bin, '-m', mode.toString(8), hostPath, 'c', String(major), String(minor)], null, { PATH: hostToolPath() });
    if (r.exitCode !== 0) {
      throw new UserError(`--isolation=chroot: cannot create ${hostPath} (mknod exited ${r.exitCode}: ${r.stderrText.trim()}; is CAP_MKNOD allowed for device ${major}:${minor}?)`);
    }
  }
}

let fstabDir: string | null | undefined;

/** fstab's escapes for a field: space, tab, newline and backslash as octal. */
function fstabField(s: string): string {
  return s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * A file with these mounts (source, target, type, options) in fstab form, for `mount --all
 * --fstab`; null when none can be written (then each mount is a program of its own). Files are
 * named by their content and kept for the process (removed at exit): a stage's steps share them.
 */
export function fstabFile(mounts: Array<[string, string, string, string]>): string | null {
  if (fstabDir === undefined) {
    try {
      fstabDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-fstab-'));
      const dir = fstabDir;
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    } catch {
      fstabDir = null;
    }
  }
  if (fstabDir === null) return null;
  const text = mounts.map((m) => `${m.map(fstabField).join(' ')} 0 0\n`).join('');
  const file = path.join(fstabDir, createHash('sha256').update(text).digest('hex').slice(0, 24));
  try {
    if (!fs.existsSync(file)) fs.writeFileSync(file, text);
    return file;
  } catch {
    return null;
  }
}

let template: string | null | undefined;

/**
 * A directory holding what a step's /dev has besides device nodes (pts/, shm/, fd, stdin, stdout,
 * stderr, ptmx), to copy in with the host's nodes in one go; null when the host's /dev nodes are not
 * the standard ones (then each is made with mknod). Made once per process, removed at exit.
 */
function devTemplate(): string | null {
  if (template !== undefined) return template;
  template = null;
  for (const [name, major, minor] of DEV_NODES) {
    const st = fs.statSync(`/dev/${name}`, { throwIfNoEntry: false });
    if (!st?.isCharacterDevice() || (st.mode & 0o777) !== 0o666) return null;
    const { major: ma, minor: mi } = deviceNumbers(st.rdev);
    if (ma !== major || mi !== minor) return null;
  }
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-dev-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'pts'), { mode: 0o755 });
    fs.mkdirSync(path.join(dir, 'shm'), { mode: 0o755 });
    fs.symlinkSync('/proc/self/fd', path.join(dir, 'fd'));
    for (const [i, n] of ['stdin', 'stdout', 'stderr'].entries()) fs.symlinkSync(`/proc/self/fd/${i}`, path.join(dir, n));
    fs.symlinkSync('pts/ptmx', path.join(dir, 'ptmx')); // the devpts instance mounted at pts/
    fs.chmodSync(dir, 0o755);
    template = dir;
  } catch {
    template = null;
  }
  return template;
}

function hostToolPath(): string {
  return process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

async function readOr(file: string, fallback: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * SIGKILL every process whose root directory is `root` or below it (a step's leftovers, found by
 * their chroot, also those that chrooted further in). Processes of other users stay unseen
 * without CAP_SYS_PTRACE; their group was killed.
 */
function killProcessesRootedAt(root: string): void {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const r = fs.readlinkSync(`/proc/${pid}/root`);
      if (r === root || r.startsWith(root + '/')) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone, or not ours to see */
    }
  }
}

/** Paths of /proc that runc mounts read-only in every container. */
const PROC_READ_ONLY = ['bus', 'fs', 'irq', 'sys', 'sysrq-trigger'];

/** The directories a container runtime mounts over (a tmpfs, procfs, sysfs). */
const SYSTEM_MOUNT_POINTS = ['dev', 'proc', 'sys'];

/** A mount point as the image has it: nothing there (st null), or what lstat says and, for a directory, its names. */
interface MountPointBefore { dir: string; st: fs.Stats | null; names: Set<string> | null }

function mountPointAsItWas(dir: string): MountPointBefore {
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(dir);
  } catch {
    /* the image has none */
  }
  return { dir, st, names: st?.isDirectory() ? new Set(fs.readdirSync(dir)) : null };
}

/**
 * Drop what a step added to a mount point that was the image's own directory, and give it its
 * times back, as the runtime's tmpfs, procfs or sysfs there would leave it (a step's `touch
 * /dev/x` reached a layer). A directory made for the step goes with all that is in it.
 */
function dropStepAdditions({ dir, st, names }: MountPointBefore): void {
  if (!st) {
    fs.rmSync(dir, { recursive: true, force: true }); // a symlink the step left there goes, never its target
    return;
  }
  if (!names) return; // a link or a file: not ours to tidy
  // the step replaced the directory (a symlink to a host directory, say): its change, for the
  // snapshot to see, and never to be followed
  const nowSt = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!nowSt?.isDirectory() || nowSt.ino !== st.ino || nowSt.dev !== st.dev) return;
  let now: string[];
  try {
    now = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of now) if (!names.has(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  fs.utimesSync(dir, st.atime, st.mtime); // as it was: no snapshot sees a change
}
