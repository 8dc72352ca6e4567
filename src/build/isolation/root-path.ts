// Path resolution inside an image root on the host: symlinks are followed as the step would see
// them (an absolute link target is relative to the root, `..` stops at the root), so nothing the
// image contains can make the executor read or write outside the root.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../../log';

const MAX_LINK_HOPS = 255;

function parts(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

async function lstatOrNull(p: string) {
  try {
    return await fsp.lstat(p);
  } catch (e: any) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * Resolve `inImage` under `root`. With `followLast` false the final component is kept as is
 * (lstat semantics), so a symlink there is the link itself. With `create` every missing
 * directory on the way is made (mode 0755, owned by whoever runs us, as runc does for a cwd).
 * Returns the host path and the in-image paths of the directories it created.
 */
export async function resolveInRoot(
  root: string,
  inImage: string,
  opts: { followLast?: boolean; create?: boolean } = {},
): Promise<{ hostPath: string; created: string[] }> {
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
    const st = await lstatOrNull(host);
    if (st === null) {
      if (!opts.create) {
        // the rest does not exist: finish lexically
        done.push(name);
        for (const t of todo) if (t === '..') done.pop(); else done.push(t);
        break;
      }
      await fsp.mkdir(host, { mode: 0o755 });
      done.push(name);
      created.push('/' + done.join('/'));
      continue;
    }
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++hops > MAX_LINK_HOPS) throw new UserError(`${inImage}: too many levels of symbolic links inside the image root`);
      const target = await fsp.readlink(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...parts(target));
      continue;
    }
    if (!isLast && !st.isDirectory()) {
      throw new UserError(`${inImage}: "/${[...done, name].join('/')}" inside the image is not a directory`);
    }
    done.push(name);
  }
  return { hostPath: path.join(root, ...done), created };
}
