// Extended attributes of host files, read with getfattr and written with setfattr (package attr):
// Node has no xattr API and a native addon would need a compiler wherever drydock is installed.
// One getfattr process reads a whole batch of paths, so a RUN step's snapshot pays a few
// milliseconds, not one process a file; one setfattr writes what a whole layer carries.
//
// Kept: what an image carries and a container uses: file capabilities (security.capability, e.g.
// `setcap cap_net_raw+ep /bin/ping` in a RUN), user.* attributes and POSIX ACLs. Left out: trusted.*
// (overlayfs' own bookkeeping among them), security.selinux and other host security labels.
import { spawnSync } from 'node:child_process';

export function keptXattr(name: string): boolean {
  return name === 'security.capability' || name.startsWith('user.') || name === 'system.posix_acl_access' || name === 'system.posix_acl_default';
}

/** Bytes of paths handed to one getfattr (well under any ARG_MAX). */
const BATCH_BYTES = 96 * 1024;

/**
 * The kept xattrs of each path that has any (symlinks are not followed). Paths that vanished are
 * left out. Throws when getfattr cannot run or fails for another reason.
 */
export function readXattrs(getfattr: string, paths: readonly string[]): Map<string, Record<string, Buffer>> {
  const out = new Map<string, Record<string, Buffer>>();
  for (let i = 0; i < paths.length;) {
    const batch: string[] = [];
    let bytes = 0;
    while (i < paths.length && (batch.length === 0 || bytes + paths[i].length < BATCH_BYTES)) {
      bytes += paths[i].length + 1;
      batch.push(paths[i++]);
    }
    // C locale: every byte that is not printable ASCII comes out as an octal escape
    const r = spawnSync(getfattr, ['--absolute-names', '--no-dereference', '--dump', '--match=-', '--encoding=hex', '--', ...batch], {
      env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' },
      encoding: 'latin1',
      maxBuffer: 256 * 1024 * 1024,
      timeout: 120_000, // a hung filesystem must not hang the build: the attributes are then lost, with a warning
    });
    if (r.error) throw new Error(`cannot run ${getfattr}: ${r.error.message}`);
    const problems = (r.stderr ?? '').split('\n').filter((l) => l.trim() !== '' && !/No such file or directory/.test(l));
    if (r.status !== 0 && problems.length > 0) throw new Error(`${getfattr} failed: ${problems.slice(0, 3).join('; ')}`);
    parseDump(r.stdout ?? '', out);
  }
  return out;
}

/** Parse `getfattr --dump --encoding=hex` output (read as latin1) into `out`. */
export function parseDump(text: string, out: Map<string, Record<string, Buffer>>): void {
  let current: Record<string, Buffer> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      out.set(unescapeBytes(line.slice('# file: '.length)), current);
      continue;
    }
    if (!current || line === '') continue;
    const eq = line.indexOf('=');
    const name = unescapeBytes(eq < 0 ? line : line.slice(0, eq));
    if (!keptXattr(name)) continue;
    const raw = eq < 0 ? '' : line.slice(eq + 1);
    current[name] = raw.startsWith('0x') ? Buffer.from(raw.slice(2), 'hex') : Buffer.from(raw.replace(/^"|"$/g, ''), 'latin1');
  }
  for (const [p, attrs] of out) if (Object.keys(attrs).length === 0) out.delete(p);
}

/** Undo getfattr's quoting (`\\` and `\ooo` per byte) and decode the bytes as UTF-8. */
function unescapeBytes(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '\\') {
      bytes.push(0x5c);
      i++;
    } else if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(s.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Set extended attributes on host paths (symlinks themselves, not their targets) with one
 * `setfattr --restore`. Returns the problems setfattr reported (e.g. user.* on a symlink, which
 * Linux refuses, or a path a later whiteout removed); throws when setfattr cannot run.
 */
export function writeXattrs(setfattr: string, attrs: ReadonlyMap<string, Record<string, Buffer>>): string[] {
  const lines: string[] = [];
  for (const [p, a] of attrs) {
    lines.push(`# file: ${escapeBytes(p)}`);
    for (const [name, value] of Object.entries(a)) lines.push(`${escapeBytes(name)}=0x${value.toString('hex')}`);
    lines.push('');
  }
  const r = spawnSync(setfattr, ['--no-dereference', '--restore=-'], {
    input: Buffer.from(lines.join('\n') + '\n', 'latin1'),
    env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw new Error(`cannot run ${setfattr}: ${r.error.message}`);
  return (r.stderr ?? '').split('\n').filter((l) => l.trim() !== '');
}

/** Quoting that setfattr --restore undoes: `\ooo` for a backslash and for bytes outside printable ASCII. */
function escapeBytes(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x5c || b <= 0x20 || b >= 0x7f) out += `\\${b.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}
