// A real S3-compatible server (s3rver, via start-s3.sh) on a free loopback port, in this run's
// TESTBED_DIR, stopped by PID. s3rver accepts only the access key id "S3RVER" and does not verify
// signatures (see start-s3.sh): tests that must prove which key signed a request put a
// recording proxy (recordingProxy below) in front of it and read the Authorization header.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SUPPORT, TESTBED_DIR, freePort } from './testbed';

const execFileP = promisify(execFile);

export const S3_KEY = 'S3RVER';
export const S3_SECRET = 'S3RVER';
export const S3_BUCKET = 'drydock-test';

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  dataDir: string;
  /** env for a client of this server: endpoint, path style, region and s3rver's key */
  env: Record<string, string>;
  put(key: string, body: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

let current: Promise<S3Server> | undefined;

/** Start s3rver once per mocha process (the npm package is cached across runs). */
export function startS3(): Promise<S3Server> {
  current ??= start();
  return current;
}

async function start(): Promise<S3Server> {
  const port = await freePort();
  const dir = path.join(TESTBED_DIR, 's3');
  const env = {
    ...process.env,
    TESTBED_DIR: dir,
    S3_PORT: String(port),
    S3_BUCKETS: S3_BUCKET,
    // installing s3rver takes seconds: share the install between runs
    S3_PREFIX: process.env.DRYDOCK_S3_PREFIX ?? path.join(os.tmpdir(), 'drydock-s3-server'),
  };
  try {
    await execFileP('bash', [path.join(SUPPORT, 'start-s3.sh'), 'start'], { env });
  } catch (e: any) {
    throw new Error(`start-s3.sh failed: ${e.stderr || e.message}`);
  }
  const endpoint = `http://127.0.0.1:${port}`;
  // safety net for runs that never reach an after() hook: stop the server by its PID on exit
  const pidFile = path.join(dir, 'run', 's3.pid');
  process.once('exit', () => {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()));
    } catch {
      /* already stopped */
    }
  });
  const server: S3Server = {
    endpoint,
    port,
    bucket: S3_BUCKET,
    dataDir: path.join(dir, 's3-data'),
    env: { S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: S3_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET },
    // uploads go over plain HTTP PUT: s3rver ignores signatures, and the code under test only reads
    put: (key, body) => putObject(endpoint, S3_BUCKET, key, body),
    stop: async () => {
      await execFileP('bash', [path.join(SUPPORT, 'start-s3.sh'), 'stop'], { env });
      current = undefined;
    },
  };
  return server;
}

function putObject(endpoint: string, bucket: string, key: string, body: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(body);
    const req = http.request(`${endpoint}/${bucket}/${key}`, {
      method: 'PUT',
      headers: {
        'content-length': data.length,
        // s3rver wants an AWS4 Authorization naming its key; it does not check the signature
        authorization: `AWS4-HMAC-SHA256 Credential=${S3_KEY}/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
        'x-amz-date': new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, ''),
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${key}: ${res.statusCode} ${t}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * An HTTP proxy on loopback that forwards everything to `target` and records each request's
 * method, path and headers, so a test can see which access key id signed it.
 */
export async function recordingProxy(target: string): Promise<{ endpoint: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const t = new URL(target);
  const requests: RecordedRequest[] = [];
  const srv = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as import('node:net').AddressInfo).port;
  return { endpoint: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => srv.close(() => r())) };
}

/** s3rver writes its log here; kept for debugging failed tests. */
export function s3Log(): string {
  const f = path.join(TESTBED_DIR, 's3', 'run', 's3.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
}

/** For the root hooks: stop the server if this process started one. */
export async function stopS3IfStarted(): Promise<void> {
  if (current) await (await current).stop();
}
