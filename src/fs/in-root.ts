// Resolve a path inside an image root the way a process chrooted there would see it: absolute
// link targets restart at the root and `..` stops at it, so nothing in the image can make us
// read or write outside the root. Synchronous: used for a handful of paths per step.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../log';

const MAX_LINK_HOPS = 255;

const parts = (p: string) => p.split('/').filter((s) => s !== '' && s !== '.');

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

export interface InRootOptions {
  /** resolve a symlink in the last component too (stat semantics; default) or keep it (lstat) */
  followLast?: boolean;
  /** make missing directories on the way (mode 0755, owned by whoever runs us, as runc does) */
  create?: boolean;
}

/**
 * The host path of `inImage` under `root`, and the in-image paths of the directories `create`
 * made. Missing components are appended lexically when not creating. Throws a UserError when
 * links loop or a component that must be a directory is not one.
 */
export function resolveInRootSync(root: string, inImage: string, opts: InRootOptions = {}): { hostPath: string; created: string[] } {
  const followLast = opts.followLast ?? true;
  const created: string[] = [];
  const done: string[] = [];
  const todo = parts(inImage);
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const isLast = todo.length === 0;
    const host = path.join(root, ...done, name);
    const st = lstatOrNull(host);
    if (st === null) {
      if (!opts.create) {
        done.push(name);
        for (const t of todo) if (t === '..') done.pop(); else done.push(t);
        break;
      }
      fs.mkdirSync(host, { mode: 0o755 });
      done.push(name);
      created.push('/' + done.join('/'));
      continue;
    }
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++hops > MAX_LINK_HOPS) throw new UserError(`${inImage}: too many levels of symbolic links inside the image root`);
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...parts(target));
      continue;
    }
    if (!isLast && !st.isDirectory()) {
      if (!opts.create) {
        done.push(name, ...todo);
        break;
      }
      throw new UserError(`${inImage}: "/${[...done, name].join('/')}" inside the image is not a directory`);
    }
    done.push(name);
  }
  return { hostPath: path.join(root, ...done), created };
}

/** The host path only (for reads). */
export function hostPathInRoot(root: string, inImage: string, opts: Omit<InRootOptions, 'create'> = {}): string {
  return resolveInRootSync(root, inImage, opts).hostPath;
}
