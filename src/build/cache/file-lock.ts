// A lock file shared between processes (builds on one host, or on several sharing a directory):
// created with O_EXCL, holding who took it. A lock whose owner is gone (a dead pid on this host) or
// that is older than `staleMs` (a crash elsewhere) is broken; a live one is waited for, at most
// `waitMs`, then the caller gets an error saying who holds it. Meant for short critical sections
// (a read-modify-write of one small file), not for long work.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { UserError } from '../../log';

export interface FileLockOptions {
  /** how long to wait for a lock another live process holds (default 20 s) */
  waitMs?: number;
  /** a lock older than this is taken to be left by a crash (default 30 s) */
  staleMs?: number;
}

export const DEFAULT_LOCK_WAIT_MS = 20_000;
export const DEFAULT_LOCK_STALE_MS = 30_000;

interface Owner {
  pid: number;
  host: string;
  at: string;
}

let seq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readOwner(text: string): Owner | undefined {
  try {
    const o = JSON.parse(text) as Owner;
    return typeof o?.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined; // being written, or not ours
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeOwner(text: string | undefined): string {
  const o = text === undefined ? undefined : readOwner(text);
  return o ? `pid ${o.pid} on ${o.host} since ${o.at}` : 'an unknown process';
}

/** The lock's content, or undefined when it is gone. */
async function readLock(file: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.promises.readFile(file, 'utf8'), fs.promises.stat(file)]);
    return { text, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Remove `file` if it is stale. It is renamed aside first and checked again there, so two
 * processes breaking the same stale lock at once cannot remove a fresh lock a third one just took
 * (if what was renamed turns out to be fresh, it is put back).
 */
async function breakIfStale(file: string, staleMs: number): Promise<boolean> {
  const seen = await readLock(file);
  if (!seen) return true; // released meanwhile: try again
  const owner = readOwner(seen.text);
  const deadOwner = owner !== undefined && owner.host === os.hostname() && !alive(owner.pid);
  if (!deadOwner && Date.now() - seen.mtimeMs <= staleMs) return false;
  const aside = `${file}.stale-${process.pid}-${++seq}`;
  try {
    await fs.promises.rename(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
  const got = await readLock(aside);
  if (got && got.text !== seen.text) {
    // someone took the lock between our look and the rename: give it back
    await fs.promises.link(aside, file).catch(() => undefined);
  }
  await fs.promises.rm(aside, { force: true });
  return true;
}

/** Run `fn` holding the lock file `file`; the lock is released however `fn` ends. */
export async function withFileLock<T>(file: string, what: string, fn: () => Promise<T>, o: FileLockOptions = {}): Promise<T> {
  const waitMs = o.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  const staleMs = o.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() } satisfies Owner);
  const deadline = Date.now() + waitMs;
  let delay = 5;
  for (;;) {
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(file, 'wx', 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new UserError(`cannot take the lock ${file} for ${what}: ${(e as Error).message}`);
    }
    if (fh) {
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      try {
        return await fn();
      } finally {
        // only our own lock: if it was broken as stale meanwhile, the file is someone else's
        const now = await readLock(file).catch(() => undefined);
        if (now?.text === mine) await fs.promises.rm(file, { force: true });
      }
    }
    if (await breakIfStale(file, staleMs)) continue;
    if (Date.now() >= deadline) {
      const holder = await readLock(file).catch(() => undefined);
      throw new UserError(`${what}: the lock ${file} is held by ${describeOwner(holder?.text)} (waited ${(waitMs / 1000).toFixed(1)}s); if no such process runs, remove the file`);
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
}
