// The agent container's side of the builder sidecar (protocol.ts): `executor ARGS` with
// DRYDOCK_REMOTE=SOCKET (or `drydock remote --socket SOCKET -- ARGS`) sends ARGS to the builder
// and prints what the build prints there, ending with its exit code. Ctrl-C, SIGTERM or a Jenkins
// abort closes the connection, which stops the build in the builder.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../log';
import { BUILD_PATH, HEALTH_PATH, resolveClientArgs, STDERR, STDOUT, type BuildEnd, type BuildRequest } from './protocol';

export interface ClientIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function unreachable(socket: string, e: Error & { code?: string }): UserError {
  const why = e.code === 'ENOENT' ? 'no socket there' : e.code === 'ECONNREFUSED' ? 'nothing listens on it' : e.code === 'EACCES' ? 'permission denied (the socket\'s mode or owner: drydock serve --socket-mode / --socket-owner)' : e.message;
  return new UserError(`cannot reach the builder sidecar at ${socket} (${why}): is the builder container running \`drydock serve --socket ${socket}\`, with that volume mounted here too?`);
}

/** Run a build in the sidecar; resolves with its exit code. */
export function runRemoteBuild(socket: string, args: string[], io: ClientIo = { stdout: process.stdout, stderr: process.stderr }, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { WebSocket } = require('ws') as typeof import('ws');
  const resolved = resolveClientArgs(args, env);
  const request: BuildRequest = { args: resolved.args, cwd: process.cwd(), env: resolved.env };
  // credentials composed here (withDrydockCredentials, drydock creds) stay here: say so, once
  const here = path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json');
  if (fs.existsSync(here)) {
    io.stderr.write(`note: ${here} is not read: builds in the sidecar use the builder's registry credentials `
      + '(DRYDOCK_ECR, DRYDOCK_REGISTRY_SECRETS, DRYDOCK_CONFIG_SOURCES on the builder container)\n');
  }
  return new Promise<number>((resolve, reject) => {
    // the socket is connected to directly: ws's ws+unix:// form cannot name a path that holds ':'
    const ws = new WebSocket(`ws://drydock-sidecar${BUILD_PATH}`, { perMessageDeflate: false, createConnection: () => net.connect(socket) });
    let ended: BuildEnd | undefined;
    let stoppedBy: NodeJS.Signals | undefined;
    const stop = (signal: NodeJS.Signals) => {
      stoppedBy = signal;
      io.stderr.write(`drydock: ${signal}: stopping the build in the builder sidecar\n`);
      ws.close(1000);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, stop);
    const done = () => { for (const s of signals) process.off(s, stop); };
    ws.on('open', () => ws.send(JSON.stringify(request)));
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        (data[0] === STDERR ? io.stderr : data[0] === STDOUT ? io.stdout : io.stderr).write(data.subarray(1));
        return;
      }
      ended = JSON.parse(data.toString()) as BuildEnd;
      if (ended.error) io.stderr.write(`ERROR builder sidecar: ${ended.error}\n`);
    });
    ws.on('error', (e: Error & { code?: string }) => {
      done();
      reject(ended || stoppedBy ? e : unreachable(socket, e));
    });
    ws.on('close', () => {
      done();
      if (ended) resolve(ended.exit);
      else if (stoppedBy) resolve(128 + (os.constants.signals[stoppedBy] ?? 0));
      else reject(new UserError(`the builder sidecar at ${socket} closed the connection before the build ended`));
    });
  });
}

/** The sidecar's health (GET /v1/health): true when it answers ok. */
export function sidecarHealthy(socket: string, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: socket, path: HEALTH_PATH, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
