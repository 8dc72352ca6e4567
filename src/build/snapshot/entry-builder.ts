// Turn changed paths of a root into layer entries: hardlink groups become one file plus links to
// it, symlink targets and device numbers are read only for the paths that are reported.
import * as fs from 'node:fs';
import { deviceNumbers, LayerEntry } from '../../fs';
import { readXattrs } from '../../fs/xattrs';
import { hostProgram } from '../isolation/host-tools';
import { log } from '../../log';
import { Kind, StatRecord } from './stat-record';

export interface Changed {
  rel: string;
  rec: StatRecord;
}

/** Order of layer entries: parents before children, siblings by name. */
export function byPath(a: { path: string }, b: { path: string }): number {
  const ka = a.path.split('/').join('\0');
  const kb = b.path.split('/').join('\0');
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export async function entriesFor(hostRoot: string, changes: Changed[]): Promise<LayerEntry[]> {
  changes.sort((a, b) => byPath({ path: a.rel }, { path: b.rel }));
  const firstOfInode = new Map<number, string>();
  // synchronous: only changed paths are visited, and a promise per readlink costs more than it
  const out = changes.map(({ rel, rec }): LayerEntry | undefined => {
    const abs = hostRoot === '/' ? '/' + rel : hostRoot + '/' + rel;
    const base = { path: rel, mode: rec[3], uid: rec[4], gid: rec[5], mtime: new Date(rec[6]) };
    switch (rec[0]) {
      case Kind.Dir:
        return { ...base, type: 'dir' };
      case Kind.Symlink:
        return { ...base, type: 'symlink', mode: 0o777, linkname: fs.readlinkSync(abs) };
      case Kind.Fifo:
        return { ...base, type: 'fifo' };
      case Kind.Char:
      case Kind.Block: {
        const { major, minor } = deviceNumbers(fs.lstatSync(abs).rdev);
        return { ...base, type: rec[0] === Kind.Char ? 'char' : 'block', devmajor: major, devminor: minor };
      }
      case Kind.Socket:
        return undefined; // tar cannot hold sockets; Docker drops them too
      default:
        return { ...base, type: 'file', source: abs, size: rec[2] };
    }
  });
  // second pass in path order so the first path of an inode is the file the others link to
  const entries: LayerEntry[] = [];
  for (let i = 0; i < out.length; i++) {
    const e = out[i];
    if (!e) continue;
    const rec = changes[i].rec;
    if (e.type === 'file' && rec[8] > 1) {
      const first = firstOfInode.get(rec[1]);
      if (first !== undefined) {
        entries.push({ path: e.path, type: 'hardlink', linkname: first, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime });
        continue;
      }
      firstOfInode.set(rec[1], e.path);
    }
    entries.push(e);
  }
  attachXattrs(hostRoot, entries);
  return entries;
}

let saidNoGetfattr = false;

/** Record the kept extended attributes (file capabilities, user.*, ACLs) of what a RUN changed. */
function attachXattrs(hostRoot: string, entries: LayerEntry[]): void {
  const getfattr = hostProgram('getfattr');
  if (!getfattr) {
    if (!saidNoGetfattr) log.debug('extended attributes set by RUN steps are not recorded: getfattr (Debian package attr) not found');
    saidNoGetfattr = true;
    return;
  }
  const abs = (rel: string) => (hostRoot === '/' ? '/' + rel : hostRoot + '/' + rel);
  const own = entries.filter((e) => e.type === 'file' || e.type === 'dir' || e.type === 'symlink');
  if (own.length === 0) return;
  let found: Map<string, Record<string, Buffer>>;
  try {
    found = readXattrs(getfattr, own.map((e) => abs(e.path)));
  } catch (err) {
    log.warn(`extended attributes of this step's files are not recorded: ${(err as Error).message}`);
    return;
  }
  if (found.size === 0) return;
  for (const e of own) {
    const x = found.get(abs(e.path));
    if (x) e.xattrs = x;
  }
}
