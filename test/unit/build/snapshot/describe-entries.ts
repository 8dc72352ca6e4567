import * as fs from 'node:fs';
import * as path from 'node:path';
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

/** Write a file under a root, making its directories. */
export function w(root: string, rel: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

/** The tree both snapshotters' tests start from: files to keep, change, delete and replace. */
export function writeCommonTree(root: string): void {
  w(root, 'etc/passwd', 'root:x:0:0::/root:/bin/sh\n');
  w(root, 'keep/a.txt');
  w(root, 'gone/sub/deep.txt');
  w(root, 'gone/other.txt');
  w(root, 'replaced/old1');
  w(root, 'replaced/old2');
  w(root, 'modify.txt', 'before');
  w(root, 'chmod.sh');
}
