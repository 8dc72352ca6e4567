import type { LayerEntry } from '../../../../src/fs';

/** One line per entry, enough to see what a layer would hold. */
export function describeEntries(entries: LayerEntry[]): string[] {
  return entries.map((e) => {
    let s = `${e.type} ${e.path}`;
    if (e.type === 'symlink' || e.type === 'hardlink') s += ` -> ${e.linkname}`;
    if (e.type === 'file' || e.type === 'dir') s += ` ${e.mode.toString(8)}`;
    return s;
  });
}
