// The remembered state of one path, kept small: 100,000 paths cost a few MB.
import type * as fs from 'node:fs';

export const enum Kind { File = 0, Dir = 1, Symlink = 2, Char = 3, Block = 4, Fifo = 5, Socket = 6 }

/** [kind, ino, size, mode (0o7777), uid, gid, mtimeMs, ctimeMs, nlink] */
export type StatRecord = [Kind, number, number, number, number, number, number, number, number];

export function kindOf(st: fs.Stats): Kind {
  if (st.isFile()) return Kind.File;
  if (st.isDirectory()) return Kind.Dir;
  if (st.isSymbolicLink()) return Kind.Symlink;
  if (st.isCharacterDevice()) return Kind.Char;
  if (st.isBlockDevice()) return Kind.Block;
  if (st.isFIFO()) return Kind.Fifo;
  return Kind.Socket;
}

export function recordOf(st: fs.Stats): StatRecord {
  return [kindOf(st), st.ino, st.size, st.mode & 0o7777, st.uid, st.gid, st.mtimeMs, st.ctimeMs, st.nlink];
}

/**
 * Did the path change? A directory counts by what a tar header holds (mode, owner, mtime): its
 * ctime moves whenever an entry is added or removed, which its children already report. Anything
 * else also by inode, size, ctime and link count (ctime catches a rewrite that put the mtime back).
 */
export function changed(a: StatRecord, b: StatRecord): boolean {
  if (a[0] !== b[0]) return true;
  if (a[3] !== b[3] || a[4] !== b[4] || a[5] !== b[5] || a[6] !== b[6]) return true;
  if (a[0] === Kind.Dir) return false;
  return a[1] !== b[1] || a[2] !== b[2] || a[7] !== b[7] || a[8] !== b[8];
}
