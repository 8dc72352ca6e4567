// Start a step's process tree and wait for it: stdin is /dev/null (as in `docker build`),
// output goes to the caller's streams, which stay open for the next step.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { hostProgram } from './host-tools';
import type { RunResult, RunSpec } from './types';

const ENV_NAME = /^[^=\-\0][^=\0]*$/;

export function validateSpec(spec: RunSpec): void {
  if (!Array.isArray(spec.argv) || spec.argv.length === 0) throw new Error('RunSpec.argv: expected at least the program to run');
  for (const e of spec.env) {
    const i = e.indexOf('=');
    if (i <= 0 || !ENV_NAME.test(e.slice(0, i))) throw new Error(`RunSpec.env entry "${e.split('=')[0]}": expected KEY=VALUE with a name not starting with "-"`);
  }
  for (const [k, v] of [['uid', spec.uid], ['gid', spec.gid], ...(spec.groups ?? []).map((g) => ['groups', g] as const)] as const) {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xfffffffe) throw new Error(`RunSpec.${k} ${v}: expected a numeric id`);
  }
  if (!path.posix.isAbsolute(spec.workdir)) throw new Error(`RunSpec.workdir "${spec.workdir}": expected an absolute path`);
}

/** Tasks for a moment this thread would only wait: while the next step runs. */
const whileStepRuns: Array<() => void> = [];

/**
 * Run `fn` once while the next step runs (this thread waits for it then); never if none does.
 * The returned function forgets it.
 */
export function whileAStepRuns(fn: () => void): () => void {
  whileStepRuns.push(fn);
  return () => {
    const i = whileStepRuns.indexOf(fn);
    if (i >= 0) whileStepRuns.splice(i, 1);
  };
}

/** Process groups of the steps running now (each step leads its own). */
const running = new Set<number>();

export type StepGroupEvent = 'started' | 'ended';
const groupWatchers: Array<(event: StepGroupEvent, pgid: number) => void> = [];

/**
 * Be told of every step process group that starts or ends from now on, after hearing of those
 * running now (as 'started'). The returned function stops it.
 */
export function watchStepGroups(fn: (event: StepGroupEvent, pgid: number) => void): () => void {
  for (const pgid of running) fn('started', pgid);
  groupWatchers.push(fn);
  return () => {
    const i = groupWatchers.indexOf(fn);
    if (i >= 0) groupWatchers.splice(i, 1);
  };
}

function tellWatchers(event: StepGroupEvent, pgid: number): void {
  for (const fn of groupWatchers) fn(event, pgid);
}

/**
 * Kill every running step with its whole process group (an interrupted build must not leave a
 * RUN going: its processes do not carry the CI's environment, so a process-tree killer that goes
 * by it, as Jenkins' does, would miss them). Returns how many were running.
 */
export function killRunningSteps(): number {
  const n = running.size;
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  return n;
}

// A step's stdout and stderr must be pipes, as under Docker: Node's own are socket pairs, and
// a program that opens /dev/stdout or /dev/stderr (/proc/self/fd/N) gets ENXIO from a socket
// (nginx -t in the nginx image, whose logs are links to them, failed so). Node cannot make a
// pipe, but it can open a FIFO: one mkfifo per build makes a pair, reused step after step (a
// step running alongside another takes a pair of its own), each step's write ends are handed
// to it as fd 1 and 2 and their read ends are read here. Without mkfifo, the sockets it is.
export interface FifoPair {
  out: string;
  err: string;
  /** a process no kill reached may still write to it: never used again */
  spoiled?: boolean;
}
/** How long output is still read after a step ended, from a process no kill reached. */
const STRAGGLER_GRACE_MS = 2000;
const freeFifos = new Map<string, FifoPair[]>();
let fifoCount = 0;
/** mkfifo failed once: the steps keep the sockets, without trying again every step */
let noFifos = false;

/** A FIFO pair for a step's output in `scratch` (kept for the next step once given back); undefined without mkfifo. */
export function takeFifos(scratch: string): FifoPair | undefined {
  const pair = freeFifos.get(scratch)?.pop();
  if (pair || noFifos) return pair;
  const n = ++fifoCount;
  const made = { out: path.join(scratch, `step-out-${process.pid}-${n}`), err: path.join(scratch, `step-err-${process.pid}-${n}`) };
  const r = spawnSync(hostProgram('mkfifo') ?? 'mkfifo', ['-m', '600', made.out, made.err], { stdio: 'ignore' });
  if (r.status === 0) return made;
  noFifos = true;
  return undefined;
}

export function giveBackFifos(scratch: string, pair: FifoPair): void {
  if (pair.spoiled) {
    for (const f of [pair.out, pair.err]) fs.rmSync(f, { force: true });
    return;
  }
  const list = freeFifos.get(scratch) ?? [];
  list.push(pair);
  freeFifos.set(scratch, list);
}

/** The FIFO's read end (non-blocking, for us) and write end (blocking, for the step). */
function openFifo(p: string): { read: number; write: number } {
  const c = fs.constants;
  const read = fs.openSync(p, c.O_RDONLY | c.O_NONBLOCK);
  try {
    return { read, write: fs.openSync(p, c.O_WRONLY) }; // a reader is there: no wait
  } catch (e) {
    fs.closeSync(read);
    throw e;
  }
}

export interface RunProcessOptions {
  /** default / */
  cwd?: string;
  /**
   * the process gets fd 3, a socket on which it says "in" once ready; gate(pid) is called then,
   * and "go" answers it (nothing if gate throws: the process gives up, and so does this)
   */
  gate?: (pid: number) => void;
  /** the FIFO pair for the step's output (the caller gives it back); default: one of ours */
  fifos?: FifoPair;
  /** after the step's main process ended and its group was killed: find what else it left */
  afterExit?: () => void;
}

/**
 * Run argv; with a spec its output is forwarded (through FIFOs, see takeFifos), without one
 * stderr is kept for the error text. A step ends with its main process, as a container does
 * with its init: what it left running (`cmd &`, a daemon) is killed, its process group first,
 * then whatever `afterExit` finds.
 */
export function runProcess(
  argv: string[], spec: Pick<RunSpec, 'stdout' | 'stderr' | 'scratch'> | null, env: NodeJS.ProcessEnv,
  { cwd = '/', gate, fifos: given, afterExit }: RunProcessOptions = {},
): Promise<RunResult & { stderrText: string }> {
  const scratch = spec ? spec.scratch ?? os.tmpdir() : undefined;
  const fifos = given ?? (scratch ? takeFifos(scratch) : undefined);
  const ours = !given;
  let ends: { out: { read: number; write: number }; err: { read: number; write: number } } | undefined;
  if (fifos) {
    const out = openFifo(fifos.out);
    try {
      ends = { out, err: openFifo(fifos.err) };
    } catch (e) {
      fs.closeSync(out.read);
      fs.closeSync(out.write);
      throw e;
    }
  }
  return new Promise((resolve, reject) => {
    // its own process group, so that killRunningSteps() reaches all of it
    const stdio = ends ? (['ignore', ends.out.write, ends.err.write] as const) : (['ignore', 'pipe', 'pipe'] as const);
    const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: [...stdio, ...(gate ? ['pipe' as const] : [])], detached: true });
    if (ends) {
      // the step has its copies: the read ends see the end once its last writer closes
      fs.closeSync(ends.out.write);
      fs.closeSync(ends.err.write);
    }
    const pgid = child.pid;
    if (pgid !== undefined) {
      running.add(pgid);
      tellWatchers('started', pgid);
    }
    let gateError: Error | undefined;
    const channel = gate ? (child.stdio[3] as Duplex | null) : null;
    if (channel) {
      let said = '';
      let answered = false;
      channel.on('error', () => undefined); // the process may close its end first; close() tells the outcome
      channel.on('data', (d: Buffer) => {
        said += d.toString();
        if (answered || !said.includes('\n') || pgid === undefined) return;
        answered = true;
        try {
          gate!(pgid);
          channel.end('go\n');
        } catch (e) {
          gateError = e as Error;
          channel.destroy();
        }
      });
    }
    if (spec && whileStepRuns.length > 0) setImmediate(() => { for (const fn of whileStepRuns.splice(0)) fn(); });
    let stderrText = '';
    // the step is over when it has exited and its output has ended (as Node's 'close' waits for its pipes)
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let outputsOpen = ends ? 2 : 0;
    const settle = (): void => {
      if (!exited || outputsOpen > 0) return;
      if (fifos && ours) giveBackFifos(scratch!, fifos);
      if (pgid !== undefined && running.delete(pgid)) tellWatchers('ended', pgid);
      if (gateError) {
        reject(gateError);
        return;
      }
      if (exited.signal) {
        const n = os.constants.signals[exited.signal as keyof typeof os.constants.signals] ?? 0;
        resolve({ exitCode: 128 + n, signal: exited.signal, stderrText });
      } else {
        resolve({ exitCode: exited.code ?? 1, stderrText });
      }
    };
    const readers: net.Socket[] = [];
    if (ends && spec) {
      for (const [fd, to] of [[ends.out.read, spec.stdout], [ends.err.read, spec.stderr]] as const) {
        const from = new net.Socket({ fd, readable: true, writable: false });
        readers.push(from);
        from.pipe(to, { end: false });
        from.once('close', () => { outputsOpen--; settle(); });
      }
    } else if (spec) {
      child.stdout!.pipe(spec.stdout, { end: false });
      child.stderr!.pipe(spec.stderr, { end: false });
    } else {
      child.stdout!.resume();
      child.stderr!.on('data', (d: Buffer) => {
        if (stderrText.length < 4096) stderrText += d.toString();
      });
    }
    child.on('error', (e) => reject(new Error(`cannot start ${argv[0]}: ${e.message}`)));
    child.on('close', (code, signal) => {
      exited = { code, signal };
      if (spec && pgid !== undefined) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          /* none left */
        }
        afterExit?.();
        // a process that left the group and kept the output open: stop reading it after a while
        if (outputsOpen > 0) {
          setTimeout(() => {
            if (outputsOpen === 0) return;
            if (fifos) fifos.spoiled = true;
            for (const r of readers) r.destroy();
          }, STRAGGLER_GRACE_MS).unref();
        }
      }
      settle();
    });
  });
}
