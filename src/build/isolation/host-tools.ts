// The host programs the runners exec. They are looked up once on the executor's own PATH (never
// the image's) and used by absolute path, so a step's PATH or a same-named file in the image
// cannot replace them.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HostTools {
  sh?: string;
  /** util-linux unshare */
  unshare?: string;
  /** unshare knows --root/--wd/--setuid (util-linux >= 2.38) */
  unshareRoot: boolean;
  /** util-linux setpriv */
  setpriv?: string;
  chroot?: string;
  /** chroot knows --userspec/--groups (coreutils; busybox's chroot does not) */
  chrootUserspec: boolean;
  mount?: string;
  ip?: string;
  mknod?: string;
  /** env(1): starts the step's own environment after the host tools ran in a clean one */
  env?: string;
}

export function which(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...searchPath.split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    // a stat that does not throw first: most directories lack the name, and an exception for each
    // made the dozen lookups of a build cost ~2 ms
    if (!fs.statSync(p, { throwIfNoEntry: false })?.isFile()) continue;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not executable for us */
    }
  }
  return undefined;
}

const programs = new Map<string, string | undefined>();

/** which(name), looked up once per process. */
export function hostProgram(name: string): string | undefined {
  if (!programs.has(name)) programs.set(name, which(name));
  return programs.get(name);
}

/** The host programs layer extraction uses: setfattr for extended attributes, zstd for zstd layers. */
export function extractionTools(): { setfattr?: string; zstd?: string } {
  return { setfattr: hostProgram('setfattr'), zstd: hostProgram('zstd') };
}

function helpText(bin: string | undefined): string {
  if (!bin) return '';
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 5000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

function helpTextAsync(bin: string | undefined): Promise<string> {
  if (!bin) return Promise.resolve('');
  return new Promise((resolve) => {
    execFile(bin, ['--help'], { encoding: 'utf8', timeout: 5000 }, (_err, stdout, stderr) => resolve(`${stdout ?? ''}${stderr ?? ''}`));
  });
}

let cached: HostTools | undefined;
let probing: Promise<HostTools> | undefined;

export function findHostTools(): HostTools {
  return (cached ??= toolsWith(helpText(hostProgram('unshare'))));
}

/** findHostTools() with its one probe (`unshare --help`) run without blocking this thread. */
export function probeHostTools(): Promise<HostTools> {
  if (cached) return Promise.resolve(cached);
  probing ??= helpTextAsync(hostProgram('unshare')).then((help) => (cached ??= toolsWith(help)));
  return probing;
}

/** The tools on PATH, given what `unshare --help` printed (uh). */
function toolsWith(uh: string): HostTools {
  const unshare = hostProgram('unshare');
  const chroot = hostProgram('chroot');
  let userspec: boolean | undefined;
  return {
    sh: hostProgram('sh'),
    unshare,
    unshareRoot: /--root/.test(uh) && /--wd/.test(uh) && /--setuid/.test(uh),
    setpriv: hostProgram('setpriv'),
    chroot,
    // asked only when util-linux's launcher is missing: each probe is a process to start
    get chrootUserspec(): boolean {
      userspec ??= /--userspec/.test(helpText(chroot));
      return userspec;
    },
    mount: hostProgram('mount'),
    ip: hostProgram('ip'),
    mknod: hostProgram('mknod'),
    env: hostProgram('env'),
  };
}
