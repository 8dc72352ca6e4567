// Which agent.jar remoting runs from: the image's (JENKINS_AGENT_FILE, default
// /usr/share/jenkins/agent.jar) unless it is missing or older than the controller's minimum
// remoting version; then the controller's own /jnlpJars/agent.jar, downloaded once into a cache
// directory (streamed to a temporary file, checked to be a complete jar, renamed into place so a
// cut-off download never becomes the cached jar).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError, describeError, type Logger } from '../log';
import { undici } from '../net/undici';
import { defaultSleep, delayAfter, type BackoffOptions } from './backoff';
import { controllerBase, dispatcherFor } from './controller-check';
import { describeNetworkError } from './http-errors';
import { NotAJarError, readRemotingVersion } from './jar-manifest';
import { compareRemotingVersions } from './remoting-version';

export type DownloadPolicy = 'auto' | 'always' | 'never';

export interface AgentJarRequest {
  imageJar: string;
  /** controller root URL; without it nothing can be downloaded */
  controllerUrl?: string;
  /** the controller's X-Remoting-Minimum-Version, when it said so */
  minVersion?: string;
  cacheDir: string;
  policy: DownloadPolicy;
  skipCertificateCheck?: boolean;
  backoff: BackoffOptions;
  log: Logger;
}

export interface AgentJar {
  path: string;
  version?: string;
  source: 'image' | 'cache' | 'download';
}

export function parsePolicy(raw: string | undefined): DownloadPolicy {
  if (raw === undefined || raw === '') return 'auto';
  if (raw === 'auto' || raw === 'always' || raw === 'never') return raw;
  throw new UserError(`DRYDOCK_AGENT_JAR_DOWNLOAD=${raw}: expected auto, always or never`, { exitCode: 2 });
}

/** The version in a jar, undefined when the file is absent; a broken jar is reported and treated as absent. */
async function versionOf(file: string, log: Logger): Promise<{ exists: boolean; version?: string }> {
  try {
    return { exists: true, version: await readRemotingVersion(file) };
  } catch (e: any) {
    if (e?.code === 'ENOENT') return { exists: false };
    log.warn(`ignoring ${file}: ${describeError(e)}`);
    return { exists: false };
  }
}

const olderThan = (v: string | undefined, min: string | undefined): boolean =>
  min !== undefined && (v === undefined || compareRemotingVersions(v, min) < 0);

export async function resolveAgentJar(req: AgentJarRequest): Promise<AgentJar> {
  const { log } = req;
  const image = await versionOf(req.imageJar, log);
  const fromImage: AgentJar = { path: req.imageJar, version: image.version, source: 'image' };

  const tooOld = image.exists && olderThan(image.version, req.minVersion);
  if (req.policy === 'never' || req.controllerUrl === undefined) {
    if (!image.exists) {
      throw new UserError(
        `agent.jar not found at ${req.imageJar}` +
          (req.policy === 'never' ? ' and DRYDOCK_AGENT_JAR_DOWNLOAD=never' : ' and no controller URL to download it from') +
          ': set JENKINS_AGENT_FILE to the jar, or allow the download.',
      );
    }
    if (tooOld) log.warn(`${req.imageJar} is remoting ${image.version}, older than the controller's minimum ${req.minVersion}`);
    return fromImage;
  }
  if (req.policy === 'auto' && image.exists && !tooOld) return fromImage;

  const cached = path.join(req.cacheDir, 'agent.jar');
  if (req.policy === 'auto') {
    const c = await versionOf(cached, log);
    if (c.exists && !olderThan(c.version, req.minVersion)) {
      log.info('using cached agent.jar', { path: cached, version: c.version });
      return { path: cached, version: c.version, source: 'cache' };
    }
  }
  const why = req.policy === 'always' ? 'DRYDOCK_AGENT_JAR_DOWNLOAD=always'
    : !image.exists ? `${req.imageJar} is missing`
    : `${req.imageJar} is remoting ${image.version ?? '(unknown version)'}, the controller needs at least ${req.minVersion}`;
  try {
    const version = await download(req, cached, why);
    return { path: cached, version, source: 'download' };
  } catch (e) {
    if (!image.exists) throw e;
    log.warn(`could not download agent.jar (${describeError(e)}); falling back to ${req.imageJar}`);
    return fromImage;
  }
}

async function download(req: AgentJarRequest, dest: string, why: string): Promise<string | undefined> {
  const url = new URL('jnlpJars/agent.jar', controllerBase(req.controllerUrl as string)).toString();
  req.log.info('downloading agent.jar from the controller', { url, reason: why });
  await fs.promises.mkdir(req.cacheDir, { recursive: true });
  const dispatcher = dispatcherFor(!!req.skipCertificateCheck);
  const sleep = req.backoff.sleep ?? defaultSleep;
  try {
    for (let attempt = 1; ; attempt++) {
      const tmp = path.join(req.cacheDir, `.agent.jar.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
      let problem: { message: string; retryable: boolean };
      try {
        const res = await undici().request(url, { method: 'GET', headersTimeout: 30000, bodyTimeout: 60000, dispatcher });
        if (res.statusCode !== 200) {
          await res.body.dump();
          throw Object.assign(new Error(`GET ${url} answered ${res.statusCode}`), { retryable: res.statusCode >= 500 || res.statusCode === 429 });
        }
        const expected = Number(res.headers['content-length'] ?? NaN);
        await pipeline(res.body, fs.createWriteStream(tmp, { mode: 0o644 }));
        const size = (await fs.promises.stat(tmp)).size;
        if (Number.isFinite(expected) && size !== expected) {
          throw Object.assign(new Error(`download of ${url} is incomplete: ${size} of ${expected} bytes`), { retryable: true });
        }
        const version = await readRemotingVersion(tmp);
        const fh = await fs.promises.open(tmp, 'r');
        await fh.sync();
        await fh.close();
        await fs.promises.rename(tmp, dest);
        req.log.info('agent.jar downloaded', { path: dest, version, bytes: size });
        return version;
      } catch (e: any) {
        await fs.promises.rm(tmp, { force: true });
        if (e instanceof NotAJarError) problem = { message: `${url} did not return a jar: ${e.message}`, retryable: false };
        else if (typeof e?.retryable === 'boolean') problem = { message: e.message, retryable: e.retryable };
        else problem = describeNetworkError(e, url);
      }
      if (!problem.retryable || attempt >= req.backoff.attempts) {
        throw new UserError(`cannot get agent.jar: ${problem.message}`);
      }
      const wait = delayAfter(attempt, req.backoff);
      req.log.warn(`agent.jar download failed: ${problem.message}; retrying`, { attempt, waitMs: wait });
      await sleep(wait);
    }
  } finally {
    await dispatcher?.close();
  }
}
