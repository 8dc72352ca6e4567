// The host programs the runners exec. They are looked up once on the executor's own PATH (never
// the image's) and used by absolute path, so a step's PATH or a same-named file in the image
// cannot replace them.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HostTools {
  sh?: string;
  /** util-linux unshare: makes the namespaces of a step, where we may */
  unshare?: string;
  /** util-linux nsenter: chroot, working directory and uid of a step, without unshare(2) */
  nsenter?: string;
  /** util-linux setpriv */
  setpriv?: string;
  /** setpriv knows --pdeathsig (util-linux >= 2.33) */
  setprivPdeathsig: boolean;
  /** setpriv and nsenter are util-linux's (busybox has applets of those names, without the options we use) */
  utilLinuxLauncher: boolean;
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

/** Whether the program's file holds `word` (an option it knows, say); false when unreadable. */
function mentions(bin: string | undefined, word: string): boolean {
  if (!bin) return false;
  try {
    return fs.readFileSync(bin).includes(word);
  } catch {
    return false;
  }
}

function helpText(bin: string | undefined): string {
  if (!bin) return '';
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 5000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

let cached: HostTools | undefined;

/** The host programs, looked up once; it starts no process (what needs one asks when first used). */
export function findHostTools(): HostTools {
  return (cached ??= lookUpTools());
}

function lookUpTools(): HostTools {
  const chroot = hostProgram('chroot');
  const setpriv = hostProgram('setpriv');
  const nsenter = hostProgram('nsenter');
  let userspec: boolean | undefined;
  let pdeathsig: boolean | undefined;
  let utilLinux: boolean | undefined;
  return {
    sh: hostProgram('sh'),
    unshare: hostProgram('unshare'),
    nsenter,
    setpriv,
    get utilLinuxLauncher(): boolean {
      utilLinux ??= mentions(setpriv, 'util-linux') && mentions(nsenter, 'util-linux');
      return utilLinux;
    },
    // asked only by the paths that need the answer (a step in namespaces of its own): the option's
    // name in the program itself, which costs less than starting it (`setpriv --help`) every build
    get setprivPdeathsig(): boolean {
      pdeathsig ??= mentions(setpriv, 'pdeathsig');
      return pdeathsig;
    },
    chroot,
    // a process to start: asked only where util-linux's launcher is missing
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
