// The distribution API as the builder needs it: resolve an image (through indexes and mirrors),
// stream verified blobs, and push blobs (HEAD, cross-repo mount, streamed upload) and manifests.
import { Transform, pipeline, type Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { Keychain } from '../credentials/keychain';
import { anonymous } from '../credentials/keychain';
import { log as rootLog, type Logger } from '../log';
import { parseConfig, type ImageConfigFile } from '../image/config';
import { parseDigest, sha256Digest, verifyingStream, DigestMismatchError } from '../image/digest';
import { parseManifest, type Descriptor, type ImageIndex, type ImageManifest } from '../image/manifest';
import { ACCEPT_MANIFESTS } from '../image/mediatypes';
import { formatPlatform, platformMatches, selectManifest, type Platform } from '../image/platform';
import type { Reference } from '../image/reference';
import { repositoryScope } from './auth';
import { RegistryError } from './errors';
import { readAll, RegistryHttp, type SendOptions } from './http';
import { DEFAULT_RETRY, type RetryPolicy } from './retry';
import { Transport, type Direction, type TransportOptions } from './transport';

export interface Progress {
  digest: string;
  done: number;
  total: number;
  direction: Direction;
}

export interface RegistryClientOptions extends TransportOptions {
  keychain?: Keychain;
  /** Extra attempts for transient failures: one number for both, or per direction (--image-download-retry, --push-retry). */
  retries?: number | { pull?: number; push?: number };
  /** First backoff delay (default 1 s), doubled per attempt with jitter. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  log?: Logger;
  onProgress?: (p: Progress) => void;
  /**
   * 'stream' (default, what docker does): POST, one streamed PATCH, then PUT ?digest=.
   * 'monolithic': POST, then one PUT ?digest= carrying the whole blob.
   */
  uploadMode?: 'stream' | 'monolithic';
}

export interface ManifestResponse {
  mediaType: string;
  digest: string;
  body: Buffer;
}

export interface ResolvedImage {
  /** Where the image was found (a mirror when one answered), pinned to the manifest digest. */
  ref: Reference;
  manifest: ImageManifest;
  manifestDigest: string;
  manifestMediaType: string;
  manifestBody: Buffer;
  config: ImageConfigFile;
  configDescriptor: Descriptor;
  configBody: Buffer;
  layers: Descriptor[];
  /** The index the manifest was chosen from, when the reference named one. */
  index?: ImageIndex;
  indexDigest?: string;
  indexMediaType?: string;
}

/** How a POST to …/blobs/uploads/ ended: the blob mounted, or an upload to make at `location`. */
type UploadStart = { mounted: true } | { mounted: false; location: URL };

const MANIFEST_LIMIT = 8 * 1024 * 1024; // distribution refuses manifests over 4 MiB
const CONFIG_LIMIT = 64 * 1024 * 1024;

function retryPolicies(o: RegistryClientOptions): Record<Direction, RetryPolicy> {
  const base = { ...DEFAULT_RETRY };
  if (o.retryBaseDelayMs !== undefined) base.baseDelayMs = o.retryBaseDelayMs;
  if (o.retryMaxDelayMs !== undefined) base.maxDelayMs = o.retryMaxDelayMs;
  const r = o.retries;
  const pull = typeof r === 'number' ? r : r?.pull ?? base.retries;
  const push = typeof r === 'number' ? r : r?.push ?? base.retries;
  return { pull: { ...base, retries: pull }, push: { ...base, retries: push } };
}

function digestOf(body: Buffer, algorithm: string): string {
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}

export class RegistryClient {
  readonly transport: Transport;
  private readonly http: RegistryHttp;
  private readonly log: Logger;
  private readonly onProgress?: (p: Progress) => void;
  private readonly uploadMode: 'stream' | 'monolithic';

  constructor(options: RegistryClientOptions = {}) {
    this.log = options.log ?? rootLog.child({ component: 'registry' });
    this.transport = new Transport(options);
    this.http = new RegistryHttp(this.transport, options.keychain ?? anonymous, this.log, retryPolicies(options));
    this.onProgress = options.onProgress;
    this.uploadMode = options.uploadMode ?? 'stream';
  }

  private opts(ref: Reference, direction: Direction, method: SendOptions['method'], url: string, what: string, extra: Partial<SendOptions> = {}): SendOptions {
    const actions: Array<'pull' | 'push'> = direction === 'push' ? ['pull', 'push'] : ['pull'];
    return {
      registry: ref.registry,
      repository: ref.repository,
      direction,
      method,
      url,
      what,
      scopes: [repositoryScope(ref.repository, actions)],
      ...extra,
    };
  }

  /** Check that the registry answers and accepts our credentials (GET /v2/). */
  async ping(registry: string, direction: Direction = 'pull'): Promise<{ origin: string; auth: string }> {
    const h = await this.http.retrying(direction, `ping ${registry}`, () => this.http.ping(registry, direction));
    return { origin: h.origin, auth: h.auth.scheme };
  }

  /** GET a manifest or index by tag or digest; verifies the digest when the reference has one. */
  async getManifest(ref: Reference, accept: string[] = ACCEPT_MANIFESTS, direction: Direction = 'pull'): Promise<ManifestResponse> {
    const id = ref.identifier();
    const what = `manifest ${id}`;
    const o = this.opts(ref, direction, 'GET', `/v2/${ref.repository}/manifests/${id}`, what, {
      headers: { accept: accept.join(', ') },
      followRedirects: true,
    });
    return this.http.retrying(direction, `get ${what} of ${ref.name()}`, async () => {
      const res = await this.http.send(o);
      if (res.status !== 200) {
        const err = await this.http.statusError(o, res);
        // distribution answers MANIFEST_UNKNOWN even when the whole repository is missing; say which.
        if (err.status === 404 && err.code !== 'NAME_UNKNOWN' && (await this.repositoryMissing(ref, direction))) {
          throw new RegistryError(`repository ${ref.name()} not found (looking for ${what})`, {
            registry: ref.registry, repository: ref.repository, status: 404, code: 'NAME_UNKNOWN', cause: err,
          });
        }
        throw err;
      }
      const body = await readAll(res.body, MANIFEST_LIMIT, `${what} of ${ref.name()}`, ref.registry);
      const contentType = typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined;
      const parsed = parseManifest(body, contentType, `${what} of ${ref.name()}`);
      let digest: string;
      if (ref.digest) {
        digest = digestOf(body, parseDigest(ref.digest, `digest of ${ref}`).algorithm);
        if (digest !== ref.digest) throw new DigestMismatchError(`manifest of ${ref}`, ref.digest, digest);
      } else {
        digest = sha256Digest(body);
      }
      return { mediaType: parsed.mediaType, digest, body };
    });
  }

  /** True only when the registry says the repository does not exist (tags/list → NAME_UNKNOWN). */
  private async repositoryMissing(ref: Reference, direction: Direction): Promise<boolean> {
    const o = this.opts(ref, direction, 'GET', `/v2/${ref.repository}/tags/list?n=1`, 'tag list');
    try {
      const res = await this.http.send(o);
      if (res.status === 200) {
        await res.body.dump();
        return false;
      }
      const err = await this.http.statusError(o, res);
      return err.status === 404 && err.code === 'NAME_UNKNOWN';
    } catch {
      return false;
    }
  }

  /** HEAD a manifest: its digest, or undefined when it does not exist. */
  async headManifest(ref: Reference, direction: Direction = 'pull'): Promise<{ digest?: string; mediaType?: string; size?: number } | undefined> {
    const o = this.opts(ref, direction, 'HEAD', `/v2/${ref.repository}/manifests/${ref.identifier()}`, `manifest ${ref.identifier()}`, {
      headers: { accept: ACCEPT_MANIFESTS.join(', ') },
    });
    const res = await this.http.request(o, [200, 404]);
    await res.body.dump();
    if (res.status === 404) return undefined;
    const h = (k: string) => (typeof res.headers[k] === 'string' ? (res.headers[k] as string) : undefined);
    const len = h('content-length');
    return { digest: h('docker-content-digest'), mediaType: h('content-type'), size: len ? Number(len) : undefined };
  }

  /**
   * The image `ref` names for `platform`: manifest (through an index if needed), parsed config and
   * layers. Mirrors / --registry-map entries are tried first, like kaniko, then the original.
   * `onManifest` hears each candidate's manifest as soon as it is known, before the config is read
   * (a caller may start fetching layers meanwhile); when that candidate then fails, the next one's
   * manifest is heard too.
   */
  async resolveImage(ref: Reference, platform: Platform, onManifest?: (pinned: Reference, manifest: ImageManifest) => void): Promise<ResolvedImage> {
    const candidates = this.transport.pullCandidates(ref);
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        const resolved = await this.resolveAt(candidate, platform, onManifest);
        if (candidate !== ref) this.log.info(`pulled ${ref} from ${candidate.registry}`);
        return resolved;
      } catch (e) {
        lastError = e;
        if (candidate !== ref) {
          this.log.warn(`cannot get ${candidate}: ${(e as Error).message}; trying the next registry`);
        }
      }
    }
    if (candidates.length && !candidates.includes(ref)) {
      throw new RegistryError(`image ${ref} not found on any configured mirror/mapped registry (${candidates.map((c) => c.registry).join(', ')}); last error: ${(lastError as Error).message}`, {
        registry: ref.registry, repository: ref.repository, cause: lastError,
      });
    }
    throw lastError;
  }

  private async resolveAt(ref: Reference, platform: Platform, onManifest?: (pinned: Reference, manifest: ImageManifest) => void): Promise<ResolvedImage> {
    let top = await this.getManifest(ref);
    let parsed = parseManifest(top.body, top.mediaType, `manifest of ${ref}`);
    let index: ImageIndex | undefined;
    let indexDigest: string | undefined;
    let indexMediaType: string | undefined;
    let pinned = ref.withDigest(top.digest);
    if (parsed.kind === 'index') {
      index = parsed.index;
      indexDigest = top.digest;
      indexMediaType = top.mediaType;
      const chosen = selectManifest(index, platform, ref.toString());
      pinned = ref.withDigest(chosen.digest);
      top = await this.getManifest(pinned);
      parsed = parseManifest(top.body, top.mediaType, `manifest of ${pinned}`);
      if (parsed.kind !== 'manifest') {
        throw new RegistryError(`${pinned}: the index entry for ${formatPlatform(platform)} is itself an index (nested indexes are not supported)`, {
          registry: ref.registry, repository: ref.repository,
        });
      }
    }
    if (parsed.kind !== 'manifest') throw new Error('unreachable');
    const manifest = parsed.manifest;
    onManifest?.(pinned, manifest);
    const configBody = await this.readBlob(pinned, manifest.config, CONFIG_LIMIT);
    const config = parseConfig(configBody, `config of ${pinned}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new RegistryError(
        `image ${pinned} is inconsistent: its manifest lists ${manifest.layers.length} layers but its config has ${config.rootfs.diff_ids.length} diff_ids`,
        { registry: ref.registry, repository: ref.repository },
      );
    }
    const have: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
    if (!index && !platformMatches(platform, have)) {
      this.log.warn(`image ${ref} is for ${formatPlatform(have)}, not the requested ${formatPlatform(platform)}`);
    }
    return {
      ref: pinned,
      manifest,
      manifestDigest: top.digest,
      manifestMediaType: top.mediaType,
      manifestBody: top.body,
      config,
      configDescriptor: manifest.config,
      configBody,
      layers: manifest.layers,
      index,
      indexDigest,
      indexMediaType,
    };
  }

  /** A small blob (a config) read whole, verified. */
  async readBlob(ref: Reference, descriptor: Descriptor, limit = CONFIG_LIMIT): Promise<Buffer> {
    if (descriptor.size > limit) {
      throw new RegistryError(`blob ${descriptor.digest} of ${ref.name()} is ${descriptor.size} bytes, more than the ${limit} bytes read into memory`, {
        registry: ref.registry, repository: ref.repository,
      });
    }
    const stream = await this.openBlob(ref, descriptor, { progress: false });
    return readAll(stream, limit, `blob ${descriptor.digest}`, ref.registry);
  }

  /**
   * Stream a blob; the stream errors (DigestMismatchError / SizeMismatchError) when the content
   * does not match the descriptor. Only the request is retried, not a stream that breaks midway.
   */
  async openBlob(ref: Reference, descriptor: Descriptor, opts: { direction?: Direction; progress?: boolean } = {}): Promise<Readable> {
    const direction = opts.direction ?? 'pull';
    parseDigest(descriptor.digest, `digest of a blob of ${ref.name()}`);
    const what = `blob ${descriptor.digest}`;
    const o = this.opts(ref, direction, 'GET', `/v2/${ref.repository}/blobs/${descriptor.digest}`, what, { followRedirects: true });
    const res = await this.http.request(o, [200]);
    const verifier = verifyingStream(descriptor.digest, descriptor.size, `${what} of ${ref.name()}`);
    const report = this.onProgress && opts.progress !== false ? this.onProgress : undefined;
    if (!report) {
      pipeline(res.body, verifier, () => undefined);
      return verifier;
    }
    let done = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        done += chunk.length;
        report({ digest: descriptor.digest, done, total: descriptor.size, direction });
        cb(null, chunk);
      },
    });
    pipeline(res.body, counter, verifier, () => undefined);
    return verifier;
  }

  /** Whether the repository has the blob (HEAD). */
  async hasBlob(ref: Reference, digest: string, direction: Direction = 'push'): Promise<boolean> {
    const o = this.opts(ref, direction, 'HEAD', `/v2/${ref.repository}/blobs/${digest}`, `blob ${digest}`, { followRedirects: true });
    const res = await this.http.request(o, [200, 404]);
    await res.body.dump();
    return res.status === 200;
  }

  /**
   * Start an upload, asking for a cross-repository mount when `from` is given. A 201 means the blob
   * was mounted; a 202 gives the upload URL.
   */
  private async initiateUpload(ref: Reference, digest: string | undefined, from?: string): Promise<UploadStart> {
    let url = `/v2/${ref.repository}/blobs/uploads/`;
    const scopes = [repositoryScope(ref.repository, ['pull', 'push'])];
    if (from && digest) {
      url += `?${new URLSearchParams({ mount: digest, from })}`;
      if (from !== ref.repository) scopes.push(repositoryScope(from, ['pull']));
    }
    const o = this.opts(ref, 'push', 'POST', url, from ? `mount of ${digest} from ${from}` : 'upload start', {
      scopes,
      headers: { 'content-length': '0' },
    });
    const res = await this.http.send(o);
    if (res.status === 201) {
      await res.body.dump();
      return { mounted: true };
    }
    if (res.status !== 202) throw await this.http.statusError(o, res);
    await res.body.dump();
    return { mounted: false, location: this.location(res.headers.location, res.url, ref) };
  }

  private location(value: string | string[] | undefined, base: URL, ref: Reference): URL {
    const loc = Array.isArray(value) ? value[0] : value;
    if (!loc) throw new RegistryError(`registry ${ref.registry} started an upload for ${ref.name()} without a Location header`, { registry: ref.registry, repository: ref.repository });
    return new URL(loc, base); // relative ("/v2/…/uploads/uuid?_state=…") or absolute
  }

  private async cancelUpload(ref: Reference, location: URL): Promise<void> {
    const o = this.opts(ref, 'push', 'DELETE', location.toString(), 'upload cancel');
    try {
      const res = await this.http.send(o);
      await res.body.dump();
    } catch (e) {
      this.log.debug('cancelling an upload failed', { error: (e as Error).message });
    }
  }

  /**
   * Ask for a cross-repository mount; undefined when the registry refused it outright (a mount is an
   * optimisation: go-containerregistry, containerd and kaniko upload the blob instead). Quay answers
   * 400, registries with per-repository permissions 403 or 401 insufficient_scope for the source.
   */
  private async tryMount(ref: Reference, digest: string, from: string): Promise<UploadStart | undefined> {
    try {
      return await this.initiateUpload(ref, digest, from);
    } catch (e) {
      if (!(e instanceof RegistryError) || e.retryable || e.status === undefined || e.status < 400 || e.status >= 500) throw e;
      this.log.debug('cross-repository mount refused; the blob is uploaded instead', { digest, from, into: ref.name(), error: e.message });
      return undefined;
    }
  }

  /** Mount a blob from another repository of the same registry; false when the registry would not. */
  async mountBlob(ref: Reference, digest: string, fromRepository: string): Promise<boolean> {
    return this.http.retrying('push', `mount ${digest} into ${ref.name()}`, async () => {
      const r = await this.tryMount(ref, digest, fromRepository);
      if (!r) return false;
      if (r.mounted) return true;
      await this.cancelUpload(ref, r.location);
      return false;
    });
  }

  /**
   * Make sure the repository has the blob: 'exists' (HEAD), 'mounted' (from one of `mountFrom`), or
   * 'uploaded' from the opener's stream (called again for every attempt; never buffered).
   */
  async pushBlob(
    ref: Reference,
    descriptor: Descriptor,
    open: () => Readable | Promise<Readable>,
    opts: { mountFrom?: string[] } = {},
  ): Promise<'exists' | 'mounted' | 'uploaded'> {
    parseDigest(descriptor.digest, `digest of a blob to push to ${ref.name()}`);
    if (await this.hasBlob(ref, descriptor.digest)) return 'exists';
    return this.http.retrying('push', `upload of ${descriptor.digest} to ${ref.name()}`, async () => {
      let location: URL | undefined;
      const sources = (opts.mountFrom ?? []).filter((r) => r !== ref.repository);
      for (const from of sources) {
        if (location) await this.cancelUpload(ref, location);
        location = undefined;
        const r = await this.tryMount(ref, descriptor.digest, from);
        if (!r) continue;
        if (r.mounted) return 'mounted' as const;
        location = r.location;
      }
      if (!location) {
        const r = await this.initiateUpload(ref, undefined);
        if (r.mounted) return 'mounted' as const; // not asked for; harmless
        location = r.location;
      }
      await this.upload(ref, descriptor, open, location);
      return 'uploaded' as const;
    });
  }

  private async upload(ref: Reference, descriptor: Descriptor, open: () => Readable | Promise<Readable>, location: URL): Promise<void> {
    const what = `blob ${descriptor.digest}`;
    const report = this.onProgress;
    const body = async (): Promise<Readable> => {
      const src = await open();
      if (!report) return src;
      let done = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          done += chunk.length;
          report({ digest: descriptor.digest, done, total: descriptor.size, direction: 'push' });
          cb(null, chunk);
        },
      });
      pipeline(src, counter, () => undefined);
      return counter;
    };
    const withDigest = (u: URL) => {
      const next = new URL(u);
      next.searchParams.set('digest', descriptor.digest); // keeps the registry's own query (_state=…)
      return next.toString();
    };
    const dataHeaders = { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) };

    let commitUrl: URL = location;
    let commit: SendOptions;
    if (this.uploadMode === 'monolithic') {
      commit = this.opts(ref, 'push', 'PUT', withDigest(location), `upload of ${what}`, { headers: dataHeaders, body });
    } else {
      const patch = this.opts(ref, 'push', 'PATCH', location.toString(), `upload of ${what}`, { headers: dataHeaders, body });
      const res = await this.http.send(patch);
      if (res.status !== 202 && res.status !== 204) throw await this.http.statusError(patch, res);
      await res.body.dump();
      commitUrl = res.headers.location ? this.location(res.headers.location, res.url, ref) : location;
      commit = this.opts(ref, 'push', 'PUT', withDigest(commitUrl), `commit of ${what}`, { headers: { 'content-length': '0' } });
    }
    const res = await this.http.send(commit);
    if (res.status !== 201 && res.status !== 204) {
      const err = await this.http.statusError(commit, res);
      if (err.code === 'DIGEST_INVALID' || err.code === 'SIZE_INVALID') {
        throw new RegistryError(`registry ${ref.registry} rejected ${what} for ${ref.name()}: the uploaded content does not match its descriptor (${err.message})`, {
          registry: ref.registry, repository: ref.repository, status: err.status, code: err.code,
        });
      }
      throw err;
    }
    await res.body.dump();
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got && got !== descriptor.digest) {
      throw new DigestMismatchError(`${what} uploaded to ${ref.name()}`, descriptor.digest, got);
    }
  }

  /** PUT a manifest under the reference's tag (or digest); returns the manifest digest. */
  async putManifest(ref: Reference, body: Buffer, mediaType: string): Promise<string> {
    const digest = sha256Digest(body);
    if (ref.digest && !ref.tag && ref.digest !== digest) throw new DigestMismatchError(`manifest for ${ref}`, ref.digest, digest);
    const id = ref.tag ?? ref.digest ?? digest;
    const o = this.opts(ref, 'push', 'PUT', `/v2/${ref.repository}/manifests/${id}`, `manifest ${id}`, {
      headers: { 'content-type': mediaType, 'content-length': String(body.length) },
      body: () => body,
    });
    const res = await this.http.request(o, [200, 201, 202]);
    await res.body.dump();
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got && got !== digest) {
      throw new DigestMismatchError(`manifest pushed to ${ref}`, digest, got);
    }
    return digest;
  }

  /**
   * Fail early when we may not push to `ref` (kaniko checks before building): start an upload with
   * push scope, then cancel it.
   */
  /**
   * Check that the registry accepts the keychain's credentials, as `docker login` does: GET /v2/
   * authenticated (Basic, or a bearer token fetched without scopes, which the token service
   * refuses for wrong credentials).
   */
  async checkLogin(registry: string): Promise<void> {
    const res = await this.http.request({ registry, direction: 'pull', method: 'GET', url: '/v2/', what: `login to ${registry}`, scopes: [] }, [200]);
    res.body.resume();
  }

  async checkPushAccess(ref: Reference): Promise<void> {
    try {
      await this.http.retrying('push', `push check for ${ref.name()}`, async () => {
        const r = await this.initiateUpload(ref, undefined);
        if (!r.mounted) await this.cancelUpload(ref, r.location);
      });
    } catch (e) {
      if (e instanceof RegistryError) {
        throw new RegistryError(`checking push permission for ${ref}: ${e.message}`, {
          registry: e.registry, repository: e.repository, status: e.status, code: e.code, cause: e,
        });
      }
      throw e;
    }
  }

  /**
   * Close pooled connections (call when done, so the process can exit). `abort`: do not wait for
   * requests still running (a failed build's background downloads), cut them off.
   */
  async close(abort = false): Promise<void> {
    await this.http.close(abort);
  }

  /** A client for the span of `use`, closed however that ends (the commands' usual frame). */
  static async using<T>(options: RegistryClientOptions, use: (client: RegistryClient) => Promise<T>): Promise<T> {
    const client = new RegistryClient(options);
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  }
}

