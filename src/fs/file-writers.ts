// Threads that create a layer's small regular files while the extraction goes on reading it.
//
// Why: creating a file is the cost of extracting a layer of small files (open with O_CREAT is
// ~30 µs on ext4, the write, futimes and close ~15 µs more, all synchronous), and one thread
// makes them one after another. Measured here (2 shared cores, 20,000 files of 1 KB in 100
// directories): one thread 480-640 ms, two threads 320-370 ms; the thread pool of libuv with
// 8 requests in flight was slower than one thread (1-1.3 s), so these are worker threads making
// synchronous calls.
//
// The applier (extract.ts) keeps every decision: it resolves the parent directory, checks the
// ignore list, decides chown and chmod, and hands over only "create this new file at this host
// path with these bytes". Path safety stays its job: a job's path has parents that were resolved
// to directories inside root, and the applier drains the writers (waits until every job is done)
// before anything that could change what a pending path means: removing or replacing anything,
// whiteouts, hardlinks (the target may be pending), an entry at a pending path, and the end of
// the layer (directory mtimes and extended attributes come last). A writer opens with
// O_CREAT|O_EXCL|O_NOFOLLOW; a regular file in the way (from a lower layer) is unlinked first,
// as the applier itself would: the applier never hands over a path where a directory or symlink
// is, or may be.
//
// Jobs go to a writer by their directory, so files of one directory are created by one thread
// (creating in one directory serialises on its lock anyway) and a path's jobs keep their order.
//
// Signals go through shared memory, not messages: an extraction worker thread takes its layer
// in a flood of messages from the main thread and works inside their handling, and Node hands
// it no message of another port (a writer's answer, even the 'online' event) until the flood
// ends (measured: never during a 20,000-file COPY). So each writer counts the batches it has
// done (and whether it has started) in a SharedArrayBuffer the applier reads whenever it likes;
// failures, rare, come through a port of their own read with receiveMessageOnPort.
//
// Main side: FileWriters. Thread side: runFileWriter(), which file-writer-thread.ts runs.
// Main -> thread: {jobs, buf} (buf transferred), done in the order posted.
// This module imports only node:fs, node:path and (lazily) node:worker_threads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { fileTime } from './fd';

/** A new regular file to create. */
export interface FileJob {
  /** host path; its parent exists and is inside root */
  path: string;
  /** the entry's name, for errors */
  name: string;
  /** mode to create with (the umask applies), then `chmod` when set */
  createMode: number;
  chown?: { uid: number; gid: number };
  chmod?: number;
  /** seconds */
  mtime: number;
}

interface WireJob extends FileJob { off: number; len: number }

export interface FileWriteFailure { name: string; path: string; message: string }

// A batch is posted once it holds this many jobs or bytes, or when the applier next waits.
const BATCH_JOBS = 64;
const BATCH_BYTES = 64 * 1024;
// Bytes handed over and not yet written before submit() waits (the extraction's memory bound).
const MAX_IN_FLIGHT = 2 * 1024 * 1024;
/** Files bigger than this are written by the applier: a copy to another thread would not pay. */
export const FILE_WRITER_MAX_FILE = 64 * 1024;

// The shared counters (Int32Array slots): batches done by any writer (the one waited on),
// failures posted, then per writer: started (0/1) and batches done.
const PROGRESS = 0;
const FAILURES = 1;
const started = (i: number) => 2 + 2 * i;
const doneBy = (i: number) => 3 + 2 * i;

interface Batch { jobs: WireJob[]; buf: Buffer; used: number }
interface Posted { seq: number; paths: string[]; bytes: number }

interface Writer {
  worker: Worker;
  /** where it reports failed jobs */
  failures: MessagePort;
  batch?: Batch;
  posted: Posted[];
  nextSeq: number;
}

export class FileWriters {
  private readonly writers: Writer[];
  private readonly shared: Int32Array;
  private readonly receive: (port: MessagePort) => { message: unknown } | undefined;
  /** host path -> jobs for it not yet done (a path may be given twice in a layer) */
  private readonly pendingPaths = new Map<string, number>();
  private inFlightBytes = 0;
  private readonly failures: FileWriteFailure[] = [];
  private flushScheduled = false;
  private crashed: Error | undefined;
  private closed = false;

  /** Starts `threads` writer threads; jobs may be handed over once `ready` says so. */
  constructor(threads: number) {
    const wt = require('node:worker_threads') as typeof import('node:worker_threads');
    this.receive = wt.receiveMessageOnPort;
    this.shared = new Int32Array(new SharedArrayBuffer(4 * (2 + 2 * threads)));
    this.writers = [];
    for (let i = 0; i < threads; i++) {
      const { port1, port2 } = new wt.MessageChannel();
      // compiled to CommonJS next to this file (dist/src/fs/); a writer makes little garbage
      const worker = new wt.Worker(path.join(__dirname, 'file-writer-thread.js'), {
        stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 4 },
        workerData: { shared: this.shared, index: i, failures: port2 } satisfies WriterData,
        transferList: [port2],
      });
      worker.on('error', (err) => this.crash(err));
      worker.on('exit', (code) => { if (!this.closed) this.crash(new Error(`a file writer thread stopped (exit code ${code})`)); });
      this.writers.push({ worker, failures: port1, posted: [], nextSeq: 1 });
    }
  }

  /** Every thread has started: until then the applier writes its files itself. */
  get ready(): boolean {
    return !this.crashed && this.writers.every((_, i) => Atomics.load(this.shared, started(i)) === 1);
  }

  /** Resolves when `ready`, or when a thread failed (then never ready: the applier goes on alone). */
  async whenReady(): Promise<void> {
    while (!this.ready && !this.crashed) await this.progress(PROGRESS_POLL_MS);
  }

  /** Whether a job for this host path is not done yet. */
  pending(p: string): boolean {
    if (this.pendingPaths.size === 0) return false;
    this.reap();
    return this.pendingPaths.has(p);
  }

  get idle(): boolean {
    if (this.pendingPaths.size > 0) this.reap();
    return this.pendingPaths.size === 0 && this.writers.every((w) => !w.batch);
  }

  /** The first job that failed, if any (the extraction stops on it). */
  get failure(): FileWriteFailure | undefined {
    this.reap();
    return this.failures[0];
  }

  /** Hand over a file (its content in `chunks`, at most FILE_WRITER_MAX_FILE bytes); waits while too much is in flight. */
  async submit(job: FileJob, chunks: readonly Uint8Array[], size: number): Promise<void> {
    if (this.crashed) throw this.crashed;
    if (this.inFlightBytes > MAX_IN_FLIGHT) {
      this.flushAll();
      while (this.reap(), this.inFlightBytes > MAX_IN_FLIGHT && !this.crashed) await this.progress();
      if (this.crashed) throw this.crashed;
    }
    const w = this.writers[hashDir(job.path) % this.writers.length];
    let b = w.batch;
    if (b && b.used + size > b.buf.length) {
      this.post(w);
      b = undefined;
    }
    if (!b) b = w.batch = { jobs: [], buf: Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, size)), used: 0 };
    const off = b.used;
    for (const c of chunks) {
      b.buf.set(c, b.used);
      b.used += c.length;
    }
    b.jobs.push({ ...job, off, len: size });
    this.pendingPaths.set(job.path, (this.pendingPaths.get(job.path) ?? 0) + 1);
    this.inFlightBytes += size;
    if (b.jobs.length >= BATCH_JOBS || b.used >= BATCH_BYTES) this.post(w);
    else this.scheduleFlush();
  }

  /** Wait until every job handed over is done. */
  async drain(): Promise<void> {
    this.flushAll();
    while (this.reap(), this.pendingPaths.size > 0 && !this.crashed) await this.progress();
    if (this.crashed) throw this.crashed;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.writers) w.failures.close();
    await Promise.all(this.writers.map((w) => w.worker.terminate().catch(() => undefined)));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // when the extraction next waits for input (if it ever gets to: see the top), the writers get what it has
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushAll();
    });
  }

  private flushAll(): void {
    for (const w of this.writers) if (w.batch) this.post(w);
  }

  private post(w: Writer): void {
    const b = w.batch!;
    w.batch = undefined;
    w.posted.push({ seq: w.nextSeq++, paths: b.jobs.map((j) => j.path), bytes: b.used });
    // allocUnsafeSlow gave the batch an ArrayBuffer of its own: handed over whole, not copied
    const buf = b.buf.buffer as ArrayBuffer;
    w.worker.postMessage({ jobs: b.jobs, buf }, [buf]);
  }

  /** Forget the batches the writers have done, and take in the failures they reported. */
  private reap(): void {
    for (let i = 0; i < this.writers.length; i++) {
      const w = this.writers[i];
      if (w.posted.length === 0) continue;
      const done = Atomics.load(this.shared, doneBy(i));
      while (w.posted.length > 0 && w.posted[0].seq <= done) {
        const b = w.posted.shift()!;
        this.inFlightBytes -= b.bytes;
        for (const p of b.paths) {
          const n = this.pendingPaths.get(p)!;
          if (n <= 1) this.pendingPaths.delete(p);
          else this.pendingPaths.set(p, n - 1);
        }
      }
    }
    if (this.failures.length < Atomics.load(this.shared, FAILURES)) {
      for (const w of this.writers) {
        for (let m = this.receive(w.failures); m; m = this.receive(w.failures)) this.failures.push(m.message as FileWriteFailure);
      }
    }
  }

  private crash(err: Error): void {
    this.crashed ??= err;
  }

  /** Until a writer finishes a batch (or a while passes: a thread's failure arrives as an event). */
  private async progress(ms = PROGRESS_POLL_MS): Promise<void> {
    const seen = Atomics.load(this.shared, PROGRESS);
    const w = waitAsync()?.(this.shared, PROGRESS, seen, ms);
    if (!w) await new Promise((resolve) => setTimeout(resolve, 1));
    else if (w.async) await w.value;
    // yield to the event loop either way, so that a thread's 'error' or 'exit' can come in
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const PROGRESS_POLL_MS = 50;
type WaitAsync = (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: Promise<unknown> | string };
/**
 * Atomics.waitAsync: in V8 (and so Node) since 8.7; TypeScript's lib knows it from es2024 on.
 * Looked up when used: a V8 startup snapshot is built without Atomics.
 */
const waitAsync = (): WaitAsync | undefined => (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

/** The same number for every file of one directory. */
function hashDir(p: string): number {
  const end = p.lastIndexOf('/');
  let h = 0;
  for (let i = 0; i < end; i++) h = (Math.imul(h, 31) + p.charCodeAt(i)) | 0;
  return h >>> 0;
}

interface WriterData { shared: Int32Array; index: number; failures: MessagePort }

/** The thread side: create each job's file, batch after batch, and count what is done. */
export function runFileWriter(port: MessagePort, { shared, index, failures }: WriterData): void {
  const c = fs.constants;
  const flags = c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW;
  port.on('message', (m: { jobs: WireJob[]; buf: ArrayBuffer }) => {
    const data = Buffer.from(m.buf);
    for (const j of m.jobs) {
      try {
        writeOne(j, data, flags);
      } catch (err) {
        // posted before it is counted, so the applier finds it when it sees the count
        failures.postMessage({ name: j.name, path: j.path, message: (err as Error).message } satisfies FileWriteFailure);
        Atomics.add(shared, FAILURES, 1);
      }
    }
    Atomics.add(shared, doneBy(index), 1);
    Atomics.add(shared, PROGRESS, 1);
    Atomics.notify(shared, PROGRESS);
  });
  Atomics.store(shared, started(index), 1);
  Atomics.add(shared, PROGRESS, 1);
  Atomics.notify(shared, PROGRESS);
}

function writeOne(j: WireJob, data: Buffer, flags: number): void {
  let fd: number;
  try {
    fd = fs.openSync(j.path, flags, j.createMode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // a lower layer's file (the applier hands over no path where a directory or symlink may be)
    if (fs.lstatSync(j.path).isDirectory()) throw err;
    fs.unlinkSync(j.path);
    fd = fs.openSync(j.path, flags, j.createMode);
  }
  try {
    for (let off = j.off, end = j.off + j.len; off < end;) off += fs.writeSync(fd, data, off, end - off);
    if (j.chown) fs.fchownSync(fd, j.chown.uid, j.chown.gid);
    if (j.chmod !== undefined) fs.fchmodSync(fd, j.chmod); // after chown, which clears setuid/setgid
    fs.futimesSync(fd, fileTime(j.mtime), fileTime(j.mtime));
  } finally {
    fs.closeSync(fd);
  }
}
