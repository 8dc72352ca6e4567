// S3 GetObject, streamed: build contexts (kaniko's s3:// contexts) and credential files.
// Virtual-hosted addressing by default, path-style when asked (S3_FORCE_PATH_STYLE, kaniko's name)
// or when the bucket name cannot be a DNS label under TLS.
import type { Readable } from 'node:stream';
import { Logger, UserError, describeError, log as rootLog } from '../log';
import { awsCredentialProvider, type CredentialProvider } from './credentials';
import { endpointOverride, serviceEndpoint } from './endpoints';
import { regionFromEnv } from './region';
import { backoff, isRetryableAnswer, isThrottling, MAX_ATTEMPTS } from './retry';
import { awsRequest } from './sigv4';

export interface S3Location {
  bucket: string;
  key: string;
}

export interface GetObjectOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  credentials?: CredentialProvider;
  /**
   * Object read when the URL names only a bucket or a prefix ending in "/". kaniko's s3:// build
   * contexts use "context.tar.gz"; pass null to make such a URL an error instead.
   */
  defaultObject?: string | null;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Parse s3://bucket/key; a bucket-only or trailing-slash URL gets `defaultObject` appended. */
export function parseS3Url(url: string, defaultObject: string | null = 'context.tar.gz'): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  if (!m) throw new UserError(`invalid S3 URL "${url}": expected s3://bucket/key`);
  const bucket = m[1];
  let key = m[2] ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !/^[A-Za-z0-9._-]{1,255}$/.test(bucket)) {
    throw new UserError(`invalid S3 URL "${url}": "${bucket}" is not a bucket name`);
  }
  if (key === '' || key.endsWith('/')) {
    if (defaultObject === null) throw new UserError(`S3 URL "${url}" names no object: expected s3://${bucket}/path/to/object`);
    key += defaultObject;
  }
  return { bucket, key };
}

function encodeKey(key: string): string {
  // S3 signs the path as sent, so encode once, per segment, RFC 3986 style
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()))
    .join('/');
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes)$/i.test(v);
}

/**
 * The URL to GET for an object, and its path as sent: the key kept literally (`.` and `..`
 * segments are parts of the key, which URL would collapse into another object's).
 */
export function objectTarget(loc: S3Location, region: string, env: NodeJS.ProcessEnv): { url: URL; path: string } {
  const url = objectUrl(loc, region, env);
  const base = serviceEndpoint('s3', region, env);
  const basePath = base.pathname.replace(/\/+$/, '');
  const pathStyle = url.hostname === base.hostname;
  return { url, path: `${basePath}${pathStyle ? `/${loc.bucket}` : ''}/${encodeKey(loc.key)}` };
}

/** The URL to GET for an object, following kaniko's and the SDK's addressing rules. */
export function objectUrl(loc: S3Location, region: string, env: NodeJS.ProcessEnv): URL {
  const base = serviceEndpoint('s3', region, env);
  const custom = endpointOverride('s3', env) !== undefined;
  const forcePath = truthy(env.S3_FORCE_PATH_STYLE) || truthy(env.AWS_S3_FORCE_PATH_STYLE);
  const dnsSafe = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(loc.bucket) || (base.protocol === 'http:' && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(loc.bucket));
  const basePath = base.pathname.replace(/\/+$/, '');
  if (forcePath || !dnsSafe || (custom && isIpHost(base.hostname))) {
    return new URL(`${base.protocol}//${base.host}${basePath}/${loc.bucket}/${encodeKey(loc.key)}`);
  }
  return new URL(`${base.protocol}//${loc.bucket}.${base.host}${basePath}/${encodeKey(loc.key)}`);
}

function isIpHost(h: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(h) || h.startsWith('[') || h === 'localhost';
}

function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1];
}

/**
 * Stream an object. Errors name the object and say what to check: a missing key or bucket, access
 * denied (the role's s3:GetObject), credentials the server does not accept.
 */
export async function getObjectStream(url: string, opts: GetObjectOptions = {}): Promise<{ body: Readable; contentLength?: number }> {
  const env = opts.env ?? process.env;
  const log = (opts.log ?? rootLog).child({ component: 's3' });
  const loc = parseS3Url(url, opts.defaultObject === undefined ? 'context.tar.gz' : opts.defaultObject);
  const object = `s3://${loc.bucket}/${loc.key}`;
  // S3 answers from any region's endpoint with a redirect naming the right one; us-east-1 is the
  // SDK's own default for S3
  let region = regionFromEnv(env) ?? 'us-east-1';
  const credentials = opts.credentials ?? awsCredentialProvider({ env, log: opts.log });
  let redirected = false;
  // the SDK's standard retry: network errors, 5xx and throttling, before the body is handed on
  for (let attempt = 1; ; attempt++) {
    const { url: target, path: targetPath } = objectTarget(loc, region, env);
    log.debug('S3 GetObject', { object, endpoint: target.origin, region, attempt });
    let res;
    try {
      res = await awsRequest({
        method: 'GET',
        url: target,
        path: targetPath,
        headers: { 'x-amz-content-sha256': EMPTY_SHA256 },
        service: 's3',
        region,
        credentials,
        uriEscapePath: false,
      });
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`cannot read ${object}: ${e.message}`, { cause: e });
      if (attempt < MAX_ATTEMPTS) {
        log.debug('S3 GetObject failed, retrying', { object, error: describeError(e), attempt });
        await backoff(attempt, false);
        continue;
      }
      throw new UserError(`cannot read ${object}: S3 endpoint ${target.origin} unreachable: ${describeError(e)}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`, { cause: e });
    }
    if (res.statusCode === 200) {
      const len = res.headers['content-length'];
      return { body: res.body, contentLength: len !== undefined ? Number(len) : undefined };
    }
    let text: string;
    try {
      text = (await res.body.text()).slice(0, 4096);
    } catch {
      text = '';
    }
    const code = xmlField(text, 'Code') ?? `HTTP ${res.statusCode}`;
    const message = xmlField(text, 'Message');
    const bucketRegion = res.headers['x-amz-bucket-region'];
    if ((res.statusCode === 301 || code === 'AuthorizationHeaderMalformed' || code === 'PermanentRedirect') && typeof bucketRegion === 'string' && bucketRegion !== region) {
      if (redirected) throw new UserError(`cannot read ${object}: S3 kept redirecting between regions`);
      log.debug('S3 bucket is in another region, retrying there', { object, region: bucketRegion });
      region = bucketRegion;
      redirected = true;
      attempt--;
      continue;
    }
    if (isRetryableAnswer(code, res.statusCode) && attempt < MAX_ATTEMPTS) {
      log.debug('S3 GetObject answered an error worth retrying', { object, code, status: res.statusCode, attempt });
      await backoff(attempt, isThrottling(code, res.statusCode));
      continue;
    }
    throw new UserError(`cannot read ${object}: ${describeS3Error(code, res.statusCode, loc)}${message ? ` (${code}: ${message})` : ` (${code})`}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`);
  }
}

function describeS3Error(code: string, status: number, loc: S3Location): string {
  switch (code) {
    case 'NoSuchKey':
      return `object "${loc.key}" does not exist in bucket "${loc.bucket}"`;
    case 'NoSuchBucket':
      return `bucket "${loc.bucket}" does not exist`;
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return 'access denied: the AWS credentials in use lack s3:GetObject on this object (or s3:ListBucket, which S3 requires to say "not found")';
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return 'S3 rejected the AWS credentials in use (invalid or expired)';
    default:
      return status === 404 ? 'not found' : status === 403 ? 'access denied' : `S3 answered HTTP ${status}`;
  }
}
