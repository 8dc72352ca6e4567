// The agent image (Dockerfile.agent) built by our own executor from offline stand-in bases
// (images/agent/stand-ins/make-stand-ins.sh, test/support/make-base-images.sh), pushed to a
// loopback registry, and run with podman under private containers/* configs.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { runExecutor } from './executor';
import { BASE_CACHE, REPO_ROOT, SUPPORT, TESTBED_DIR, pushBaseImages, run, tmpDir, type Registry } from './testbed';

export interface AgentImage {
  /** registry/repository:tag */
  ref: string;
  /** sha256:... of the pushed manifest */
  digest: string;
  /** the executor's output, for failure messages */
  log: string;
}

/** The base images Dockerfile.agent is built from in the tests (its build args). */
export function standInBuildArgs(reg: Registry, catatonitUrl: string): string[] {
  return [
    `JENKINS_AGENT_IMAGE=${reg.host}/stand-in/jenkins-agent:latest`,
    `NODE_IMAGE=${reg.host}/stand-in/node:latest`,
    `BUSYBOX_IMAGE=${reg.host}/library/busybox:latest`,
    `CATATONIT_URL=${catatonitUrl}`,
    // dist/ is already compiled by this test run and node_modules installed: no npm registry needed
    'DRYDOCK_BUILD=prebuilt',
  ];
}

/** Serve one file over plain HTTP on loopback (for ADD <url>); the URL ends in the file's name. */
export async function serveFile(file: string): Promise<{ url: string; close(): Promise<void> }> {
  const name = path.basename(file);
  const server = http.createServer((req, res) => {
    if (req.url !== `/${name}`) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': fs.statSync(file).size, 'content-type': 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}/${name}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** What the image is built from: Dockerfile.agent, .dockerignore and every file under dist/src and bin. */
function inputsKey(): string {
  const h = crypto.createHash('sha256');
  const add = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) add(path.join(p, e));
    else h.update(`${path.relative(REPO_ROOT, p)} ${st.size} ${st.mtimeMs}\n`);
  };
  for (const p of ['Dockerfile.agent', '.dockerignore', 'dist/src', 'bin', 'images/agent']) add(path.join(REPO_ROOT, p));
  return h.digest('hex');
}

const builds = new Map<string, Promise<AgentImage>>();

/**
 * Build Dockerfile.agent with bin/executor and push it to `reg` as drydock/agent:test. Within one
 * test process the image is built once per registry while its inputs stay the same.
 */
export function buildAgentImage(reg: Registry): Promise<AgentImage> {
  const key = `${reg.host} ${inputsKey()}`;
  let p = builds.get(key);
  if (!p) {
    p = doBuild(reg);
    builds.set(key, p);
    p.catch(() => builds.delete(key));
  }
  return p;
}

async function doBuild(reg: Registry): Promise<AgentImage> {
  await pushBaseImages(reg, 'busybox');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), BASE_CACHE };
  if (reg.user) env.DEST_CREDS = `${reg.user}:${reg.pass}`;
  run('bash', [path.join(REPO_ROOT, 'images/agent/stand-ins/make-stand-ins.sh'), reg.host], { env });
  const catatonit = await serveFile(hostCatatonit());
  const ref = `${reg.host}/drydock/agent:test`;
  const digestFile = path.join(TESTBED_DIR, `agent-image-${reg.port}.digest`);
  try {
    const r = await runExecutor([
      '--context', REPO_ROOT, '--dockerfile', 'Dockerfile.agent', '--skip-unused-stages',
      '--insecure', '--insecure-pull', ...standInBuildArgs(reg, catatonit.url).flatMap((a) => ['--build-arg', a]),
      '--destination', ref, '--digest-file', digestFile,
    ]);
    if (r.code !== 0) throw new Error(`building Dockerfile.agent failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    return { ref, digest: fs.readFileSync(digestFile, 'utf8').trim(), log: r.stdout + r.stderr };
  } finally {
    await catatonit.close();
  }
}

/** The host's static catatonit (Debian package catatonit), in place of the release download. */
function hostCatatonit(): string {
  const p = '/usr/bin/catatonit';
  if (!fs.existsSync(p)) throw new Error(`${p} not found: run test/support/install-deps.sh (package catatonit)`);
  return p;
}

/**
 * Environment for podman with private configs (test/support/containers-env.sh) and a
 * registries.conf that lists `reg` as insecure (plain http), kept apart from the shared one.
 */
export function podmanEnv(reg: Registry): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TESTBED_DIR };
  for (const line of run('bash', [path.join(SUPPORT, 'containers-env.sh')], { env }).split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  const dir = path.join(TESTBED_DIR, 'agent-image');
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, `registries-${reg.port}.conf`);
  fs.writeFileSync(conf, `unqualified-search-registries = []\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
  env.CONTAINERS_REGISTRIES_CONF = conf;
  return env;
}

/**
 * A seccomp profile for `podman run --security-opt seccomp=FILE` that does to us what Docker's
 * default profile (moby's profiles/seccomp/default.json) does to a process without CAP_SYS_ADMIN,
 * as on ECS on EC2: no unshare(2), setns(2), mount(2) and the like, so no namespaces, not even a
 * user namespace (podman's own default allows one); clone3 answers ENOSYS, as there, so that
 * libc falls back to clone(2). The rest is allowed.
 */
export function dockerLikeSeccomp(): string {
  const file = path.join(tmpDir('drydock-seccomp-'), 'docker-like.json');
  fs.writeFileSync(file, JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {
        names: ['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'sethostname', 'setdomainname', 'keyctl', 'add_key', 'request_key',
          'fsopen', 'fsmount', 'fsconfig', 'fspick', 'move_mount', 'open_tree', 'mount_setattr'],
        action: 'SCMP_ACT_ERRNO',
      },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ],
  }));
  return file;
}

export interface PodmanResult { code: number | null; stdout: string; stderr: string }

/** `podman ARGS` with stdin from `input`; never throws on a non-zero exit. */
export function podman(env: NodeJS.ProcessEnv, args: string[], input?: string, timeoutMs = 120000): Promise<PodmanResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}
