// A chroot is no wall for a root process: chroot("x") then chdir("..") enough times leaves it, and
// CAP_SYS_CHROOT is in the step's (Docker's default) capability set. Where the step has a mount
// namespace, its namespace's root is therefore moved (pivot_root) to a small "jail" before the
// step starts: the image root bound at /image, the host's /usr (and /bin, /lib* where they are
// directories, not links into /usr) bound read-only for the launcher programs, and nothing else.
// A step that leaves its chroot then finds that jail, read-only, never the host's files (the
// executor, the work dir, DOCKER_CONFIG, the workspace). runc does the same with pivot_root.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the image root is seen inside the jail. */
export const JAIL_IMAGE = '/image';

/** The host's top-level entries the launcher programs and their libraries live in. */
const PROGRAM_TOPS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

export interface StepJail {
  /** the jail's directory on the host (a skeleton of mount points and links) */
  dir: string;
  /** the mounts that fill it (source, target, type, options), in order */
  mounts: Array<[string, string, string, string]>;
  /** the launcher's argv with the image root's host path replaced by its place in the jail */
  argv: string[];
}

/**
 * The jail for steps in `root`, or null when the launcher would not find its programs there (a
 * program outside the bound directories): then the step runs chrooted as before.
 */
export function stepJail(root: string, launcherArgv: string[], programs: Array<string | undefined>): StepJail | null {
  const tops = PROGRAM_TOPS.map((name) => ({ name, st: fs.lstatSync(`/${name}`, { throwIfNoEntry: false }) })).filter((t) => t.st);
  const bound = tops.map((t) => t.name);
  for (const p of programs) if (p && !bound.includes(p.split('/')[1] ?? '')) return null;
  const dir = path.join(path.dirname(root), `.drydock-jail-${path.basename(root)}`);
  makeSkeleton(dir, tops);
  const mounts: Array<[string, string, string, string]> = [
    // read-only itself: a step that escapes its chroot can write nothing here
    [dir, dir, 'none', 'bind,ro'],
    // with the step's /proc, /dev, /sys and RUN mounts already on it
    [root, path.join(dir, JAIL_IMAGE), 'none', 'rbind,nodev'],
    ...tops.filter((t) => t.st!.isDirectory()).map((t): [string, string, string, string] => [`/${t.name}`, path.join(dir, t.name), 'none', 'bind,ro']),
  ];
  if (fs.existsSync('/etc/ld.so.cache')) mounts.push(['/etc/ld.so.cache', path.join(dir, 'etc/ld.so.cache'), 'none', 'bind,ro']);
  return { dir, mounts, argv: launcherArgv.map((a) => inJail(a, root)) };
}

/** An argument naming the root (or a path in it, as --root=, --wd=) as the jail sees it. */
function inJail(arg: string, root: string): string {
  const m = /^(--[a-z]+=)?(.*)$/s.exec(arg)!;
  const [flag, value] = [m[1] ?? '', m[2]];
  if (value === root) return flag + JAIL_IMAGE;
  if (value.startsWith(root + '/')) return flag + JAIL_IMAGE + value.slice(root.length);
  return arg;
}

/** Mount points and links of the jail, made once per root (the jail is bound read-only). */
function makeSkeleton(dir: string, tops: Array<{ name: string; st?: fs.Stats }>): void {
  if (fs.existsSync(path.join(dir, '.ready'))) return;
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of ['image', '.old', 'etc']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  // programs that read /proc (setpriv's cap_last_cap) find the step's own
  fs.symlinkSync('image/proc', path.join(dir, 'proc'));
  for (const t of tops) {
    if (t.st!.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(`/${t.name}`), path.join(dir, t.name));
    else fs.mkdirSync(path.join(dir, t.name));
  }
  fs.writeFileSync(path.join(dir, 'etc/ld.so.cache'), '');
  fs.writeFileSync(path.join(dir, '.ready'), '');
}
