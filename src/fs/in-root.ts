// Resolve a path inside an image root the way a process chrooted there would see it: absolute
// link targets restart at the root and `..` stops at it, so nothing in the image can make us
// read outside the root. Synchronous, for the small reads the builder does (/etc/passwd, COPY
// sources); the isolation layer has an async variant that also creates directories.
import * as fs from 'node:fs';
import * as path from 'node:path';

const MAX_LINK_HOPS = 255;

/**
 * The host path of `inImage` under `root`. `followLast`: resolve a symlink in the last component
 * too (stat semantics; default) or keep it (lstat semantics). Missing components are appended
 * lexically. Throws when links loop.
 */
export function resolveInRootSync(root: string, inImage: string, opts: { followLast?: boolean } = {}): string {
  const followLast = opts.followLast ?? true;
  const done: string[] = [];
  const todo = inImage.split('/').filter((s) => s !== '' && s !== '.');
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, name);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(host);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink() && (todo.length > 0 || followLast)) {
      if (++hops > MAX_LINK_HOPS) throw new Error(`${inImage}: too many levels of symbolic links inside the image root`);
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
      continue;
    }
    done.push(name);
  }
  return path.join(root, ...done);
}
