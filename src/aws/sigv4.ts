// AWS Signature Version 4 over undici: @smithy/signature-v4 computes the signature, undici sends
// exactly the request that was signed (same host, path, query and headers).
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Dispatcher } from 'undici';
import { undici } from '../net/undici';
import type { AwsCredentials, CredentialProvider } from './credentials';

export interface SignableRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * The request path exactly as sent and signed, when it must not be normalized as URL does
   * (S3 keys are literal: `a/../b` is its own object, as botocore sends it); default url.pathname
   */
  path?: string;
}

export interface SigningParams {
  service: string;
  region: string;
  credentials: AwsCredentials;
  /** S3 signs the path as sent; every other service double-encodes it. */
  uriEscapePath?: boolean;
  /** For fixed-date test vectors. */
  signingDate?: Date;
}

const sha256 = Hash.bind(null, 'sha256');

/** The headers to send (including Authorization, X-Amz-Date, host and any security token). */
export async function signRequest(req: SignableRequest, params: SigningParams): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    credentials: params.credentials,
    region: params.region,
    service: params.service,
    sha256,
    uriEscapePath: params.uriEscapePath ?? true,
    applyChecksum: false,
  });
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of req.url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'host')) headers.host = req.url.host;
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: req.url.protocol,
      hostname: req.url.hostname,
      port: req.url.port ? Number(req.url.port) : undefined,
      path: req.path ?? req.url.pathname,
      query,
      headers,
      body: req.body,
    },
    { signingDate: params.signingDate },
  );
  return signed.headers as Record<string, string>;
}

export interface AwsRequest extends SignableRequest {
  service: string;
  region: string;
  credentials: CredentialProvider;
  uriEscapePath?: boolean;
  signal?: AbortSignal;
}

/** Sign and send a request; the caller reads (or dumps) the body. */
export async function awsRequest(req: AwsRequest): Promise<Dispatcher.ResponseData> {
  const credentials = await req.credentials();
  const headers = await signRequest(req, { service: req.service, region: req.region, credentials, uriEscapePath: req.uriEscapePath });
  // undici derives Host from the URL, which is the value that was signed
  const send: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'host') send[k] = v;
  // a literal path goes out as it is: the request helper sends origin + pathname + search
  const target = req.path === undefined ? req.url : ({ origin: req.url.origin, pathname: req.path, search: req.url.search } as URL);
  return undici().request(target, {
    method: req.method as Dispatcher.HttpMethod,
    headers: send,
    body: req.body,
    signal: req.signal,
    headersTimeout: 30_000,
    bodyTimeout: 60_000,
  });
}
