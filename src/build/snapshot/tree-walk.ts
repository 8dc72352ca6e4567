// A walk that keeps nothing but what the snapshotter needs: readdir(withFileTypes) per directory,
// lstat per entry, a bounded number of calls in flight, and counters of the work done.
import * as fs from 'node:fs';
import { IgnoreList, Limiter } from '../../fs';
import { UserError } from '../../log';

export interface WalkCounters {
  lstat: number;
  readdir: number;
}

const vanished = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

/**
 * Visit every path below `hostDir`/`startRel` (startRel itself excluded), in no particular order.
 * `inImage(rel)` is the absolute in-image path the skip list is matched against.
 */
export async function walkTree(
  hostDir: string,
  startRel: string,
  skip: IgnoreList,
  visit: (rel: string, st: fs.Stats) => void,
  counters: WalkCounters,
  concurrency = 32,
): Promise<void> {
  const limiter = new Limiter(concurrency);
  const dirAbs = (rel: string) => (rel === '' ? hostDir : hostDir + '/' + rel);
  const readDir = async (rel: string): Promise<void> => {
    let dirents: fs.Dirent[];
    try {
      counters.readdir++;
      dirents = await limiter.run(() => fs.promises.readdir(dirAbs(rel), { withFileTypes: true }));
    } catch (e) {
      if (vanished(e)) return;
      throw new UserError(`snapshot: cannot read directory ${dirAbs(rel)}: ${(e as Error).message}`, { cause: e });
    }
    await Promise.all(dirents.map(async (d) => {
      const childRel = rel === '' ? d.name : rel + '/' + d.name;
      if (skip.size > 0 && skip.ignores('/' + childRel)) return;
      let st: fs.Stats;
      try {
        counters.lstat++;
        st = await limiter.run(() => fs.promises.lstat(dirAbs(childRel)));
      } catch (e) {
        if (vanished(e)) return;
        throw new UserError(`snapshot: cannot stat ${dirAbs(childRel)}: ${(e as Error).message}`, { cause: e });
      }
      visit(childRel, st);
      if (st.isDirectory()) await readDir(childRel);
    }));
  };
  await readDir(startRel);
}
