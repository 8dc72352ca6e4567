// `drydock info [--json]`: what this container lets a build do, for the person setting up an agent
// (as `docker info` or `buildah info`): where RUN steps would run and what they get, how
// snapshots are taken, the work dir's free space, which registries have credentials, proxies and
// CAs in effect, and the builder sidecar. Each answer comes from the same probe a build uses.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { detectContainer, readCapabilities, selectIsolation } from '../build/isolation';
import { overlayUnavailableReason } from '../build/snapshot/overlay';
import { configLocations, readDockerConfig } from '../credentials/config-file';
import { describeError } from '../log';
import { proxyFromEnv } from '../net/proxy';
import { hostOnlyCertificates } from '../net/trust';
import { sidecarHealthy } from '../sidecar/client';
import { newCommand, parseCommand } from './flags';

const CAPS = ['CAP_SYS_CHROOT', 'CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN', 'CAP_FOWNER', 'CAP_DAC_OVERRIDE', 'CAP_MKNOD', 'CAP_SYS_ADMIN'] as const;

function attempt<T>(fn: () => T): T | { error: string } {
  try {
    return fn();
  } catch (e) {
    return { error: describeError(e) };
  }
}

export async function gatherInfo(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const caps = readCapabilities();
  const tmp = os.tmpdir();
  const workDir = env.KANIKO_DIR || tmp;
  const space = attempt(() => {
    const s = fs.statfsSync(fs.existsSync(workDir) ? workDir : tmp);
    return { freeBytes: s.bavail * s.bsize };
  });
  type CredentialFile = { file: string; from: string; error?: string; auths?: string[]; credHelpers?: Record<string, string>; credsStore?: string };
  const credentials = configLocations(env).flatMap((l): CredentialFile[] => {
    let c: ReturnType<typeof readDockerConfig>;
    try {
      c = readDockerConfig(l.path, l.from);
    } catch (e) {
      return [{ file: l.path, from: l.from, error: describeError(e) }];
    }
    return c ? [{ file: l.path, from: l.from, auths: Object.keys(c.auths ?? {}), credHelpers: c.credHelpers ?? {}, credsStore: c.credsStore }] : [];
  });
  const proxies = attempt(() => {
    const p = proxyFromEnv(env);
    return p ? { https: p.https ? `${p.https.protocol}//${p.https.host}` : undefined, http: p.http ? `${p.http.protocol}//${p.http.host}` : undefined, noProxy: env.NO_PROXY || env.no_proxy || '' } : null;
  });
  const remote = env.DRYDOCK_REMOTE;
  return {
    version: (require('../../../package.json') as { version: string }).version,
    node: process.version,
    started: (require('./start') as typeof import('./start')).startOrigin(),
    user: { uid: process.getuid?.(), gid: process.getgid?.() },
    container: detectContainer(env) ?? null,
    capabilities: Object.fromEntries(CAPS.map((c) => [c, caps.has(c)])),
    isolation: attempt(() => selectIsolation('auto', { env }).describe()),
    snapshots: attempt(() => {
      const why = overlayUnavailableReason(workDir);
      return why === null ? 'overlay (the RUN step\'s upper directory is its diff)' : `stat-walk (overlayfs not available: ${why})`;
    }),
    workDir: { path: workDir, from: env.KANIKO_DIR ? 'KANIKO_DIR' : 'TMPDIR', ...space },
    credentials,
    proxies,
    certificates: { sslCertFile: env.SSL_CERT_FILE ?? null, sslCertDir: env.SSL_CERT_DIR ?? null, beyondNodeRoots: attempt(() => hostOnlyCertificates(env).length) },
    sidecar: remote ? { socket: remote, answers: await sidecarHealthy(remote) } : null,
  };
}

const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
const shown = (v: unknown) => (v && typeof v === 'object' && 'error' in v ? `unknown (${(v as { error: string }).error})` : String(v));

function text(i: Record<string, any>): string {
  const lines = [
    `drydock ${i.version} (node ${i.node}, ${i.started})`,
    `user:          uid ${i.user.uid}, gid ${i.user.gid}`,
    `container:     ${i.container ?? 'no (RUN --isolation=none needs --force here)'}`,
    `capabilities:  ${Object.entries(i.capabilities).map(([c, on]) => `${on ? '' : '-'}${c.replace(/^CAP_/, '')}`).join(' ')}`,
    `RUN isolation: ${shown(i.isolation)}`,
    ...(typeof i.isolation === 'string' && i.isolation.includes('steps have no /proc')
      ? ['               (programs that need /proc fail in RUN here, ps among them; java starts, given LD_ORIGIN_PATH: use --isolation=none for such builds, or allow user namespaces)']
      : []),
    `snapshots:     ${shown(i.snapshots)}`,
    `work dir:      ${i.workDir.path} (${i.workDir.from}${i.workDir.freeBytes !== undefined ? `, ${gb(i.workDir.freeBytes)} free` : ''})`,
  ];
  if (i.credentials.length === 0) lines.push('credentials:   none (no config.json; ECR hosts get a native ecr-login)');
  for (const c of i.credentials) {
    if (c.error) lines.push(`credentials:   ${c.file} (${c.from}): ${c.error}`);
    else {
      const helpers = Object.entries(c.credHelpers).map(([h, n]) => `${h} → ${n}`);
      lines.push(`credentials:   ${c.file} (${c.from}): auths for ${c.auths.length ? c.auths.join(', ') : 'none'}${helpers.length ? `; helpers: ${helpers.join(', ')}` : ''}${c.credsStore ? `; store: ${c.credsStore}` : ''}`);
    }
  }
  lines.push(`proxies:       ${i.proxies === null ? 'none' : i.proxies.error ? `unusable: ${i.proxies.error}` : [i.proxies.https && `https via ${i.proxies.https}`, i.proxies.http && `http via ${i.proxies.http}`, i.proxies.noProxy && `not for ${i.proxies.noProxy}`].filter(Boolean).join('; ')}`);
  lines.push(`CAs:           Node's roots${typeof i.certificates.beyondNodeRoots === 'number' ? ` and ${i.certificates.beyondNodeRoots} more from the host's store` : ''}${i.certificates.sslCertDir ? ` (SSL_CERT_DIR ${i.certificates.sslCertDir})` : ''}`);
  lines.push(`sidecar:       ${i.sidecar === null ? 'none (builds run here)' : `${i.sidecar.socket}: ${i.sidecar.answers ? 'answers (builds run there)' : 'does not answer'}`}`);
  return lines.join('\n');
}

export async function main(args: string[]): Promise<number> {
  const cmd = newCommand('info', 'Show what this container lets a build do: RUN isolation, snapshots, work dir space, credentials, proxies, CAs, sidecar.')
    .option('--json', 'print JSON');
  if (!parseCommand(cmd, args)) return 0;
  const i = await gatherInfo();
  process.stdout.write(`${cmd.opts().json ? JSON.stringify(i, null, 2) : text(i)}\n`);
  return 0;
}
