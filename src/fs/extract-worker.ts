// Applies a layer that is being written (the layer writer's uncompressed `tap`) onto a root,
// in a worker thread when the layer is big enough to pay for starting one.
//
// Why: extraction makes ~6 synchronous syscalls per entry (see extract.ts) and the layer writer
// needs the main thread too, so on the main thread the two halves of a COPY take turns. In a
// worker they overlap: 20,000 small files, COPY 2.9 s -> see the commit that added this file.
//
// This file has both sides of the protocol: startTapExtraction() for the main thread, and
// runWorker(), which extract-worker-thread.ts (the worker's script) runs on what the main thread
// posts. node:worker_threads loads only when a worker starts: a V8 startup snapshot
// (src/cli/startup-snapshot.ts) cannot hold its main-thread state. Main -> worker: {chunk} (a copied, transferred ArrayBuffer), {end}. Worker -> main:
// {ack: bytes} once a chunk is taken in (bounds what is in flight), {log: line}, then {done} or
// {error}. The worker runs the same extractLayer, so path safety and error texts are the same.
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { MessagePort, Worker } from 'node:worker_threads';
import { log, redact, UserError, type Format, type Level } from '../log';
import { extractLayer, fileWritersBeside, type ExtractOptions, type ExtractResult } from './extract';
import { IgnoreList } from './ignore';
import type { LayerEntry } from './types';

export interface TapExtraction {
  /** Write the uncompressed layer tar here (the layer writer's `tap`); end it with the layer. */
  tap: Writable;
  /**
   * Resolves once the layer is applied. Rejects with the extraction's error (naming the entry),
   * or with the error the tap was destroyed with when the writer failed first.
   */
  done: Promise<ExtractResult>;
  /** The tap copies what it is given before it takes more (the writer may reuse its buffers). */
  copiesChunks: boolean;
}

/** How big the layer is, as far as the caller knows before writing it. */
export interface LayerWeight {
  entries: number;
}

// Measured here (2 shared cores; writer + tap into a fresh root, sources are small files, cold
// process): starting the worker costs ~40 ms; the worker wins from ~2,000-3,000 entries
// (3,000: 580 vs 660 ms, 5,000: 850 vs 1,160 ms, 20,000: 1.7 vs 3.3 s) and loses below (500:
// 210 vs 200 ms). Bytes alone never pay: one 200 MB file goes 420-480 ms in a worker vs 265-430
// ms here, as writing big chunks costs the main thread little and the worker adds a copy.
export const WORKER_MIN_ENTRIES = 2000;
// Unacknowledged bytes posted to the worker before the tap stops taking more (backpressure);
// 1, 4 and 16 MiB measured alike at 20,000 files.
const MAX_IN_FLIGHT = 4 * 1024 * 1024;

export function worthAWorker(weight: LayerWeight): boolean {
  return weight.entries > WORKER_MIN_ENTRIES;
}

/** The weight of a layer about to be written from `entries`. */
export function layerWeight(entries: readonly LayerEntry[]): LayerWeight {
  return { entries: entries.length };
}

/**
 * For `writeLayer(..., { tap }).catch(...)`: when the writer failed, stop the extraction and
 * throw its error if it failed on its own first (it names the entry; the writer only saw the tap
 * close), else the writer's.
 */
export function failedWithExtraction(x: TapExtraction | undefined): (err: unknown) => Promise<never> {
  return async (err: unknown) => {
    if (x) {
      x.tap.destroy(err instanceof Error ? err : new Error(String(err))); // no-op when already closed
      await x.done; // throws the extraction's error, or the writer's when the writer came first
    }
    throw err;
  };
}

/**
 * Start applying a layer onto `root` from the tar bytes written to the returned tap: in a worker
 * thread when `weight` says the layer is big (or `inWorker` forces a choice), else on this thread.
 * `opts.onEntry` cannot cross threads: with it, extraction stays on this thread.
 */
export function startTapExtraction(root: string, opts: ExtractOptions, weight: LayerWeight, inWorker = worthAWorker(weight)): TapExtraction {
  // the layer writer keeps the main thread busy beside the extraction
  const o = { ...opts, fileWriters: opts.fileWriters ?? fileWritersBeside(1) };
  if (!inWorker || o.onEntry) return extractOnThisThread(root, o);
  return extractInWorker(root, o);
}

function extractOnThisThread(root: string, opts: ExtractOptions): TapExtraction {
  let writerError: Error | undefined;
  const tap = new PassThrough({
    highWaterMark: 1 << 20,
    destroy(err, cb) {
      // extractLayer destroys its input without an error when it fails itself
      if (err) writerError = err;
      cb(err);
    },
  });
  const done = extractLayer(tap, root, opts).catch((err: unknown) => {
    throw writerError ?? err;
  });
  done.catch(() => undefined); // the caller may await it only after the writer
  return { tap, done, copiesChunks: false };
}

interface WorkerSetup {
  root: string;
  preserveOwnership?: boolean;
  ignore?: string[];
  layerName?: string;
  setfattr?: string;
  fileWriters?: number;
  fileWritersAfter?: number;
  log: { level: Level; format: Format; timestamps: boolean };
}

type ToWorker = { setup: WorkerSetup } | { chunk: Uint8Array } | { end: true };

let spare: Worker | undefined;

function newWorker(): Worker {
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  // compiled to CommonJS next to this file (dist/src/fs/)
  // A small young generation: the worker makes little garbage of its own, so with V8's default
  // (16 MB semi-spaces here) it hardly collected, and the layer's chunks it was done with waited
  // for that: a 20,000-file COPY peaked ~30 MB higher.
  return new Worker(path.join(__dirname, 'extract-worker-thread.js'), { stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
}

/**
 * Boot a worker ahead of need (~40-50 ms of the other core), e.g. when a COPY's walk has found
 * enough entries that its layer will be extracted in one: the boot then overlaps the rest of the
 * walk and the planning instead of delaying the first entry. Unused, it does not keep the
 * process alive.
 */
export function prestartExtractionWorker(): void {
  if (spare) return;
  const w = newWorker();
  w.unref();
  w.on('error', () => undefined); // a spare that failed to boot is replaced when it is taken
  w.on('exit', () => { if (spare === w) spare = undefined; });
  spare = w;
}

function takeWorker(): Worker {
  const w = spare;
  spare = undefined;
  if (w && w.threadId >= 0) {
    w.removeAllListeners();
    w.ref();
    return w;
  }
  return newWorker();
}
type FromWorker = { ack: number } | { log: string } | { done: ExtractResult } | { error: string; user: boolean };

function extractInWorker(root: string, opts: ExtractOptions): TapExtraction {
  const setup: WorkerSetup = {
    root,
    preserveOwnership: opts.preserveOwnership,
    ignore: opts.ignore?.paths,
    layerName: opts.layerName,
    setfattr: opts.setfattr,
    fileWriters: opts.fileWriters,
    fileWritersAfter: opts.fileWritersAfter,
    log: { level: log.level, format: log.format, timestamps: log.timestamps },
  };
  const worker = takeWorker();
  worker.postMessage({ setup } satisfies ToWorker);
  let settled = false;
  let resolveDone!: (r: ExtractResult) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<ExtractResult>((resolve, reject) => { resolveDone = resolve; rejectDone = reject; });
  done.catch(() => undefined); // the caller may await it only after the writer
  let inFlight = 0;
  let ended = false;
  let blocked: ((err?: Error | null) => void) | undefined;

  const settle = (err: unknown, result?: ExtractResult): void => {
    if (settled) return;
    settled = true;
    void worker.terminate(); // also after {done}: nothing is left to wait for
    if (err === undefined) resolveDone(result!);
    else rejectDone(err);
  };

  const tap = new Writable({
    // every write() returns false, so the writer waits for 'drain', i.e. until write() below
    // copied the chunk: it may then reuse the buffer
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      if (settled) return cb(new Error('the layer extraction already ended'));
      // The same chunk goes on to the hash and gzip, so it cannot be handed over (detached):
      // post a copy and transfer that. The copy is cheap next to writing the bytes out again.
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      worker.postMessage({ chunk: copy } satisfies ToWorker, [copy.buffer]);
      inFlight += chunk.length;
      if (inFlight <= MAX_IN_FLIGHT) cb();
      else blocked = cb;
    },
    final(cb) {
      ended = true;
      if (!settled) worker.postMessage({ end: true } satisfies ToWorker);
      cb();
    },
    destroy(err, cb) {
      const b = blocked;
      blocked = undefined;
      b?.(err ?? new Error('the layer extraction ended early'));
      // after final() this is autoDestroy and the worker is finishing; else the writer failed
      // (err) or the worker did (already settled)
      if (err || !ended) settle(err ?? new Error('the layer tap was closed before the layer was written'));
      cb(err);
    },
  });
  tap.on('error', () => undefined); // reported through `done`

  worker.on('message', (m: FromWorker) => {
    if ('ack' in m) {
      inFlight -= m.ack;
      if (blocked && inFlight <= MAX_IN_FLIGHT) {
        const b = blocked;
        blocked = undefined;
        b();
      }
    } else if ('log' in m) {
      log.raw(redact(m.log));
    } else if ('done' in m) {
      settle(undefined, m.done);
    } else {
      settle(m.user ? new UserError(m.error) : new Error(m.error));
      tap.destroy(); // the writer stops: its tee finds the tap closed
    }
  });
  worker.on('error', (err) => {
    settle(new Error(`layer extraction worker failed: ${err.message}`, { cause: err }));
    tap.destroy();
  });
  worker.on('exit', (code) => {
    if (settled) return;
    settle(new Error(`layer extraction worker exited (code ${code}) before the layer was applied`));
    tap.destroy();
  });
  return { tap, done, copiesChunks: true };
}

/** The worker's side: wait for its layer's setup, feed posted chunks into extractLayer, report. */
export function runWorker(port: MessagePort): void {
  const post = (m: FromWorker): void => port.postMessage(m);
  let input: PassThrough | undefined;
  port.on('message', (m: ToWorker) => {
    if ('setup' in m) {
      input = startExtraction(m.setup, post);
    } else if ('chunk' in m) {
      const b = Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength);
      // called once the chunk passed into the (bounded) buffer ahead of the tar parser
      input!.write(b, (err) => { if (!err) post({ ack: b.length }); });
    } else {
      input!.end();
    }
  });
}

function startExtraction(setup: WorkerSetup, post: (m: FromWorker) => void): PassThrough {
  log.configure({
    ...setup.log,
    stream: new Writable({ write(line: Buffer | string, _enc, cb) { post({ log: line.toString() }); cb(); } }),
  });
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  const opts: ExtractOptions = {
    preserveOwnership: setup.preserveOwnership,
    ignore: setup.ignore ? new IgnoreList(setup.ignore) : undefined,
    layerName: setup.layerName,
    setfattr: setup.setfattr,
    fileWriters: setup.fileWriters,
    fileWritersAfter: setup.fileWritersAfter,
  };
  extractLayer(input, setup.root, opts).then(
    (result) => post({ done: result }),
    (err: unknown) => post({ error: err instanceof Error ? err.message : String(err), user: err instanceof UserError }),
  ); // the main thread terminates this worker when it has the answer
  return input;
}
