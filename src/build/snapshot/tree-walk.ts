// A walk that keeps nothing but what the snapshotter needs: readdir(withFileTypes) per directory,
// lstat per entry, `concurrency` workers pulling batches from one queue of paths (so a directory of
// 100,000 entries never becomes 100,000 pending promises), and counters of the work done.
import * as fs from 'node:fs';
import type { IgnoreList } from '../../fs';
import { UserError } from '../../log';

export interface WalkCounters {
  lstat: number;
  readdir: number;
}

const BATCH = 64;

const vanished = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

/**
 * Visit every path below `hostDir`/`startRel` (startRel itself excluded), in no particular order.
 * The skip list is matched against the in-image path '/' + rel.
 */
export async function walkTree(
  hostDir: string,
  startRel: string,
  skip: IgnoreList,
  visit: (rel: string, st: fs.Stats) => void,
  counters: WalkCounters,
  concurrency = 4,
): Promise<void> {
  const abs = (rel: string) => (rel === '' ? hostDir : hostDir === '/' ? '/' + rel : hostDir + '/' + rel);
  let queue: string[] = [];
  let head = 0;
  let busy = 0;
  let failure: unknown;
  const idle: Array<() => void> = [];
  const wake = () => idle.splice(0).forEach((r) => r());

  const readDir = async (rel: string): Promise<void> => {
    let names: fs.Dirent[];
    try {
      counters.readdir++;
      names = await fs.promises.readdir(abs(rel), { withFileTypes: true });
    } catch (e) {
      if (vanished(e)) return;
      throw new UserError(`snapshot: cannot read directory ${abs(rel)}: ${(e as Error).message}`, { cause: e });
    }
    for (const d of names) {
      const child = rel === '' ? d.name : rel + '/' + d.name;
      if (skip.size === 0 || !skip.ignores('/' + child)) queue.push(child);
    }
    if (names.length) wake();
  };

  const statOne = async (rel: string): Promise<void> => {
    let st: fs.Stats;
    try {
      counters.lstat++;
      st = await fs.promises.lstat(abs(rel));
    } catch (e) {
      if (vanished(e)) return;
      throw new UserError(`snapshot: cannot stat ${abs(rel)}: ${(e as Error).message}`, { cause: e });
    }
    visit(rel, st);
    if (st.isDirectory()) await readDir(rel);
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (failure !== undefined) return;
      if (head < queue.length) {
        // take a batch: one await per batch instead of one per path keeps the overhead low
        const batch = queue.slice(head, head + BATCH);
        head += batch.length;
        if (head > 4096 && head * 2 > queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
        busy++;
        try {
          await Promise.all(batch.map(statOne));
        } catch (e) {
          failure = e;
          wake();
        } finally {
          busy--;
        }
        continue;
      }
      if (busy === 0) {
        wake();
        return;
      }
      await new Promise<void>((r) => idle.push(r));
    }
  };

  await readDir(startRel);
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure;
}
