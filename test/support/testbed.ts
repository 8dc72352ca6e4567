// Real servers for integration tests, started by the project's own scripts (test/support/*.sh)
// on free loopback ports, each test run in its own state directory, stopped by PID.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { OUTER_TMPDIR } from './run-tmp';

const execFileP = promisify(execFile);
export const SUPPORT = path.resolve(__dirname, '../../../test/support');
export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** One state directory per mocha process, so parallel runs never share pid files or data. */
export const TESTBED_DIR = process.env.DRYDOCK_TESTBED_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-testbed-'));
/** Base image layouts are expensive to make and identical every time: cache them across runs. */
export const BASE_CACHE = process.env.DRYDOCK_BASE_CACHE ?? path.join(OUTER_TMPDIR, 'drydock-base-cache');

export const USER = 'testuser';
export const PASS = 'testpass';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export type RegistryMode = 'plain' | 'htpasswd' | 'token' | 'tls';

export interface Registry {
  mode: RegistryMode;
  /** host:port, e.g. 127.0.0.1:40123 */
  host: string;
  port: number;
  /** CA certificate for the tls mode */
  caFile?: string;
  /** directory in containers/image cert-dir layout (for skopeo --cert-dir) */
  certDir?: string;
  /** credentials accepted (htpasswd and token modes) */
  user?: string;
  pass?: string;
  stop(): Promise<void>;
}

async function sh(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [path.join(SUPPORT, script), ...args], {
      env: { ...process.env, TESTBED_DIR, BASE_CACHE, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (e: any) {
    throw new Error(`${script} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

const started: Registry[] = [];

/** Start a registry in `mode` on a free port. Each mode runs once per process (state is per mode). */
export async function startRegistry(mode: RegistryMode): Promise<Registry> {
  const existing = started.find((r) => r.mode === mode);
  if (existing) return existing;
  const port = await freePort();
  const env: Record<string, string> = { REGISTRY_PORT: String(port) };
  if (mode === 'token') env.TOKEN_PORT = String(await freePort());
  await sh('start-registry.sh', [mode], env);
  const reg: Registry = {
    mode,
    host: `127.0.0.1:${port}`,
    port,
    stop: async () => {
      await sh('start-registry.sh', ['stop', mode]);
      started.splice(started.indexOf(reg), 1);
    },
  };
  if (mode === 'tls') {
    reg.caFile = path.join(TESTBED_DIR, 'run/certs/tls.crt');
    reg.certDir = path.join(TESTBED_DIR, `run/certs.d/127.0.0.1:${port}`);
  }
  if (mode === 'htpasswd' || mode === 'token') {
    reg.user = USER;
    reg.pass = PASS;
  }
  started.push(reg);
  return reg;
}

export async function stopAll(): Promise<void> {
  // each stop may wait up to 5 s for its server to go: all at once, not one after another
  await Promise.all([...started].map((r) => r.stop()));
}

/** Push the offline busybox base images (latest, oci, multiarch) into a registry. */
export async function pushBaseImages(reg: Registry, what: 'busybox' | 'debian' | 'all' = 'busybox'): Promise<void> {
  const env: Record<string, string> = {};
  if (reg.user) env.DEST_CREDS = `${reg.user}:${reg.pass}`;
  if (reg.certDir) env.DEST_CERT_DIR = reg.certDir;
  await sh('make-base-images.sh', [reg.host, what], env);
}

/** Run a command synchronously, returning stdout; throws with stderr on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: opts.env ?? process.env, cwd: opts.cwd, input: opts.input, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function tmpDir(prefix = 'drydock-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** skopeo flags to reach a test registry (TLS CA or plain http, credentials). */
export function skopeoOpts(reg: Registry, prefix: '' | 'src-' | 'dest-' = ''): string[] {
  const o: string[] = [];
  if (reg.certDir) o.push(`--${prefix}cert-dir`, reg.certDir);
  else o.push(`--${prefix}tls-verify=false`);
  if (reg.user) o.push(`--${prefix}creds`, `${reg.user}:${reg.pass}`);
  return o;
}
