// Paths a walker or extractor must never descend into or touch (the executor itself, /proc,
// mounted volumes, the agent's workspace). Prefix semantics on whole path components:
// ignoring /workspace ignores /workspace/x but not /workspace2.
import * as path from 'node:path';

export class IgnoreList {
  private readonly set = new Set<string>();

  constructor(paths: Iterable<string> = []) {
    for (const p of paths) this.add(p);
  }

  /** Add an absolute path; relative paths are a caller bug and throw. */
  add(p: string): void {
    if (!path.isAbsolute(p)) throw new Error(`ignore list path "${p}" must be absolute`);
    this.set.add(path.resolve(p));
  }

  get paths(): string[] {
    return [...this.set].sort();
  }

  get size(): number {
    return this.set.size;
  }

  /** True when absPath is an ignored path or lies below one. */
  ignores(absPath: string): boolean {
    if (this.set.size === 0) return false;
    // Walk up the ancestors: O(depth) set lookups instead of O(list) prefix comparisons.
    let p = path.resolve(absPath);
    for (;;) {
      if (this.set.has(p)) return true;
      const parent = path.dirname(p);
      if (parent === p) return false;
      p = parent;
    }
  }

  /** True when absPath (normalized: no `.`, `..` or trailing slash) is itself on the list. */
  lists(absPath: string): boolean {
    return this.set.has(absPath);
  }

  /** True when some ignored path lies strictly below absPath (so removing absPath wholesale would touch it). */
  hasIgnoredBelow(absPath: string): boolean {
    if (this.set.size === 0) return false;
    const p = path.resolve(absPath);
    const prefix = p === '/' ? '/' : p + '/';
    for (const q of this.set) if (q !== p && q.startsWith(prefix)) return true;
    return false;
  }
}

export interface MountInfo {
  mountId: number;
  parentId: number;
  /** major:minor of the device */
  device: string;
  /** path of the mount's root inside its filesystem */
  root: string;
  mountPoint: string;
  options: string;
  fsType: string;
  source: string;
}

/** Undo the kernel's octal escapes in mountinfo fields (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Parse /proc/self/mountinfo (proc(5)):
 * `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
 * Optional fields end at the lone "-" separator.
 */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0 || sep + 1 >= f.length) {
      throw new Error(`mountinfo line ${i + 1}: expected "id parent major:minor root mountpoint options [optional...] - fstype source superoptions", got "${line}"`);
    }
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      device: f[2],
      root: unescapeMountField(f[3]),
      mountPoint: unescapeMountField(f[4]),
      options: f[5],
      fsType: f[sep + 1] ?? '',
      source: unescapeMountField(f[sep + 2] ?? ''),
    });
  }
  return out;
}

/** Mount points listed in a mountinfo text, unescaped, in file order. */
export function mountPointsFromMountinfo(text: string): string[] {
  return parseMountinfo(text).map((m) => m.mountPoint);
}
