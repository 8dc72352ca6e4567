// `drydock serve`: the builder sidecar. Each build request (protocol.ts) runs the executor as a
// child process of its own, in the requester's working directory (the shared workspace volume),
// so builds keep apart as local ones do: their own signals, memory and work dir. Several may run
// at once (parallel Jenkins stages); a client that goes away stops its build.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WebSocket } from 'ws';
import { UserError, type Logger } from '../log';
import { checkInputs, checkOutputs, giveTo, PathPolicy, type CheckedOutput } from './paths';
import { assumedPeer, peerCredentials, type Peer } from './peer';
import { BUILD_PATH, executorArgs, HEALTH_PATH, parseBuildRequest, SECRET_ENV_PREFIX, STDERR, STDOUT, type BuildEnd } from './protocol';

export interface ServeOptions {
  /** where the unix socket is made */
  socket: string;
  /** its permission bits: who in the task may ask for builds (they run as root, in chroot) */
  mode: number;
  /** its owner, so that the agent container's user may connect with a mode such as 0660 */
  owner?: { uid: number; gid: number };
  /** how to start the executor: argv before the request's args */
  executor: string[];
  /** environment every build gets besides the server's own (DOCKER_CONFIG of composed credentials) */
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** how long a client may take to send its request, ms */
  requestTimeoutMs?: number;
  /** how long a stopped build gets to clean up before SIGKILL, ms */
  stopGraceMs?: number;
  /** at most this many builds at once; the others wait their turn (default: no limit) */
  maxBuilds?: number;
}

export interface Sidecar {
  /** stop accepting, stop the running builds, remove the socket */
  close(): Promise<void>;
}

/**
 * The files a build wrote for its client (digest files, tarball, OCI layout, the directories made
 * for them) become the client's: the builder runs as root, and the agent must be able to read them
 * and clean its workspace. Only where the client could have made them itself: in a directory it
 * owns, never through a symlink (giveTo walks descriptors, so none swapped in meanwhile counts).
 */
function giveOutputs(outputs: CheckedOutput[], owner: { uid: number; gid: number }, log: Logger): void {
  for (const o of outputs) {
    try {
      giveTo(o.made, owner);
    } catch (e) {
      log.debug(`${o.abs} left to root: ${(e as Error).message}`);
    }
  }
}

/** The builder's own credentials (composed DOCKER_CONFIG, AWS files), real paths: never an input of a client's build. */
function builderCredentialPaths(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME || os.homedir();
  const candidates = [env.DOCKER_CONFIG, path.join(home, '.docker'), path.join(home, '.aws'), env.AWS_SHARED_CREDENTIALS_FILE, env.AWS_CONFIG_FILE, env.AWS_WEB_IDENTITY_TOKEN_FILE, '/kaniko/.docker'];
  const out = new Set<string>();
  for (const c of candidates) {
    if (!c) continue;
    try {
      out.add(fs.realpathSync(c));
    } catch {
      out.add(path.resolve(c));
    }
  }
  return [...out].filter((p) => p !== '/');
}

/** A build's output to its client, tagged with the stream; a slow client paces it rather than our memory. */
function forwardOutput(stream: NodeJS.ReadableStream & { pause(): void; resume(): void }, ws: WebSocket, tag: number): void {
  stream.on('data', (chunk: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.of(tag), chunk]), { binary: true });
    if (ws.bufferedAmount > 1 << 20) {
      stream.pause();
      const poll = setInterval(() => {
        if (ws.bufferedAmount <= 1 << 18 || ws.readyState !== ws.OPEN) {
          clearInterval(poll);
          stream.resume();
        }
      }, 10);
    }
  });
}

/** At most `max` builds at once; the others wait in order, and a client that goes away leaves the queue. */
class BuildSlots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number | undefined) {}

  get running(): number {
    return this.active;
  }

  /** true with a slot; false when the client went away while it waited */
  take(ws: WebSocket): Promise<boolean> {
    if (this.max === undefined || this.active < this.max) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const go = () => {
        ws.off('close', leave);
        this.active++;
        resolve(true);
      };
      const leave = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      this.waiting.push(go);
      ws.once('close', leave);
    });
  }

  give(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

/** Refuse a live server's socket; remove a stale one (a server that died left it). */
async function clearSocket(socket: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socket);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new UserError(`--socket ${socket}: a file that is not a socket is there; remove it or choose another path`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(socket, () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
  if (live) throw new UserError(`--socket ${socket}: another server already listens there`);
  fs.unlinkSync(socket);
}

export async function serve(o: ServeOptions): Promise<Sidecar> {
  await clearSocket(o.socket);
  fs.mkdirSync(path.dirname(o.socket), { recursive: true });
  const { WebSocketServer } = require('ws') as typeof import('ws');
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === HEALTH_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`drydock builder sidecar: open a WebSocket at ${BUILD_PATH}\n`);
  });
  const wss = new WebSocketServer({ server, path: BUILD_PATH, maxPayload: 1 << 20 });
  const credentialPaths = builderCredentialPaths({ ...process.env, ...o.env });
  const running = new Set<ChildProcess>();
  const slots = new BuildSlots(o.maxBuilds);
  let seq = 0;
  let warnedNoPeercred = false;
  wss.on('connection', (ws, req) => handle(ws, ++seq, identify(req.socket)));

  /** the client's uid and gid from the kernel; the socket's owner when the kernel's cannot be read */
  async function identify(socket: net.Socket): Promise<Peer> {
    const cred = await peerCredentials(socket);
    if (cred) return { ...cred, source: 'SO_PEERCRED' };
    const assumed = assumedPeer(o.owner, o.mode);
    if (!warnedNoPeercred) {
      warnedNoPeercred = true;
      o.log.warn(`cannot read the client's credentials (SO_PEERCRED, through perl): clients are taken to be uid ${assumed.uid} (the socket's owner)`);
    }
    return assumed;
  }

  function handle(ws: WebSocket, id: number, identified: Promise<Peer>): void {
    const log = o.log.child({ build: id });
    const end = (e: BuildEnd) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(e), () => ws.close(1000));
    };
    const waiting = setTimeout(() => end({ exit: 2, error: 'no build request arrived' }), o.requestTimeoutMs ?? 30_000);
    ws.once('close', () => clearTimeout(waiting));
    ws.once('message', async (data, isBinary) => {
      clearTimeout(waiting);
      const peer = await identified;
      let req;
      let outputs: CheckedOutput[];
      try {
        if (isBinary) throw new Error('the build request must be a text frame');
        req = parseBuildRequest(data.toString());
        if (!fs.statSync(req.cwd, { throwIfNoEntry: false })?.isDirectory()) {
          throw new Error(`working directory ${req.cwd} does not exist in the builder container: mount the agent's workspace volume at the same path in both containers`);
        }
        // the build reads as root: only what the client could read itself, in the workspace it shares
        const policy = new PathPolicy(req.cwd, peer, credentialPaths);
        checkInputs(req.args, policy);
        // and writes as root: only where the client could write itself, never through a symlink
        outputs = checkOutputs(req.args, policy);
      } catch (e) {
        log.warn(`refused a build request: ${(e as Error).message}`);
        end({ exit: 2, error: (e as Error).message });
        return;
      }
      if (slots.max !== undefined && slots.running >= slots.max) {
        log.info(`build ${id} waits: ${slots.running} running (--max-builds ${slots.max})`);
        ws.send(Buffer.concat([Buffer.of(STDERR), Buffer.from(`drydock: waiting for the builder sidecar: ${slots.running} build(s) running, at most ${slots.max} at once\n`)]), { binary: true });
      }
      if (!(await slots.take(ws))) return;
      // the builder's own environment (credentials, proxies, CAs) and what the client sent
      // (SOURCE_DATE_EPOCH, its secrets); never DRYDOCK_REMOTE, or the executor would send the
      // build back here
      const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
      delete env.DRYDOCK_REMOTE;
      for (const k of Object.keys(env)) if (k.startsWith(SECRET_ENV_PREFIX)) delete env[k];
      Object.assign(env, req.env);
      const t0 = Date.now();
      const child = spawn(o.executor[0], [...o.executor.slice(1), ...executorArgs(req.args)], { cwd: req.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      log.info(`build ${id} started in ${req.cwd} for uid ${peer.uid} (pid ${child.pid})`);
      forwardOutput(child.stdout!, ws, STDOUT);
      forwardOutput(child.stderr!, ws, STDERR);
      let killer: NodeJS.Timeout | undefined;
      ws.on('close', () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        log.warn(`build ${id}: the client went away; stopping the build`);
        child.kill('SIGTERM');
        killer = setTimeout(() => child.kill('SIGKILL'), o.stopGraceMs ?? 20_000);
      });
      child.on('error', (e) => log.error(`build ${id}: cannot start the executor: ${e.message}`));
      child.on('close', (code, signal) => {
        running.delete(child);
        slots.give();
        clearTimeout(killer);
        if (peer.uid !== 0) giveOutputs(outputs, peer, log);
        const exit = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
        log.info(`build ${id} ended with exit code ${exit} after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        end({ exit });
      });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socket, () => resolve());
  });
  fs.chmodSync(o.socket, o.mode);
  if (o.owner) fs.chownSync(o.socket, o.owner.uid, o.owner.gid);
  o.log.info(`builder sidecar listening on ${o.socket} (mode ${o.mode.toString(8).padStart(4, '0')})`);

  return {
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await Promise.all([...running].map((c) => new Promise<void>((resolve) => {
        c.once('close', () => resolve());
        c.kill('SIGTERM');
      })));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(o.socket, { force: true });
    },
  };
}
