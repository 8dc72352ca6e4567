// A STAND-IN for AWS SSM and ECR (they cannot run here), written from the published AWS JSON 1.1
// protocol: POST / with X-Amz-Target "AmazonSSM.GetParameter",
// "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" or
// "SpencerFrontendService.GetAuthorizationToken" (ECR Public), Content-Type
// application/x-amz-json-1.1, JSON in and out, errors as HTTP 400 {"__type", "message"}.
// It verifies each request's SigV4 signature with the secret of the access key id it names
// (recomputed with @smithy/signature-v4), and records which key id signed what.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export interface StandinKey {
  secret: string;
  sessionToken?: string;
  /** answer ExpiredTokenException, as AWS does for expired session credentials */
  expired?: boolean;
}

export interface StandinCall {
  target: string;
  accessKeyId: string;
  region: string;
  service: string;
  input: any;
}

export interface AwsStandin {
  endpoint: string;
  keys: Record<string, StandinKey>;
  /** SSM parameters: name → {value, type} */
  parameters: Record<string, { value: string; type?: 'String' | 'SecureString' }>;
  /** what GetAuthorizationToken hands out (user:password, lifetime) */
  ecr: { username: string; password: string; ttlSeconds: number; failWith?: string };
  calls: StandinCall[];
  /** the stand-in's clock for token expiry (tests with a fake clock share it) */
  now: () => number;
  close(): Promise<void>;
}

const TARGET_SSM = 'AmazonSSM.GetParameter';
const TARGET_ECR = 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken';
const TARGET_ECR_PUBLIC = 'SpencerFrontendService.GetAuthorizationToken';

function parseAuthorization(h: string | undefined) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(h ?? '');
  if (!m) return undefined;
  return { accessKeyId: m[1], date: m[2], region: m[3], service: m[4], signedHeaders: m[5].split(';'), signature: m[6] };
}

function amzDate(s: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return new Date(NaN);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

export async function startAwsStandin(init: Partial<Pick<AwsStandin, 'keys' | 'parameters' | 'ecr'>> = {}): Promise<AwsStandin> {
  const st: Omit<AwsStandin, 'endpoint' | 'close'> = {
    keys: init.keys ?? {},
    parameters: init.parameters ?? {},
    ecr: init.ecr ?? { username: 'AWS', password: 'ecr-password-from-standin', ttlSeconds: 12 * 3600 },
    calls: [],
    now: Date.now,
  };
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      handle(st, req, Buffer.concat(chunks).toString('utf8')).then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(body));
        },
        (e) => {
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ __type: 'InternalFailure', message: String(e) }));
        },
      );
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return Object.assign(st, { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => srv.close(() => r())) });
}

const err = (type: string, message: string, status = 400) => ({ status, body: { __type: type, message } });

async function handle(st: Omit<AwsStandin, 'endpoint' | 'close'>, req: http.IncomingMessage, text: string): Promise<{ status: number; body: unknown }> {
  const target = String(req.headers['x-amz-target'] ?? '');
  if (req.method !== 'POST' || req.url !== '/') return err('UnknownOperationException', 'expected POST /');
  if (req.headers['content-type'] !== 'application/x-amz-json-1.1') return err('SerializationException', 'expected application/x-amz-json-1.1');
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) return err('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  const key = st.keys[auth.accessKeyId];
  if (!key) return err('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (key.expired) return err('ExpiredTokenException', 'The security token included in the request is expired');
  if (key.sessionToken && req.headers['x-amz-security-token'] !== key.sessionToken) return err('UnrecognizedClientException', 'The security token included in the request is invalid.');
  // recompute the signature over the signed headers with this key's secret
  const headers: Record<string, string> = {};
  for (const h of auth.signedHeaders) headers[h] = String(req.headers[h] ?? '');
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey: key.secret, sessionToken: key.sessionToken },
    region: auth.region,
    service: auth.service,
    sha256: Hash.bind(null, 'sha256'),
    // sign exactly the headers the client signed; do not add x-amz-content-sha256
    applyChecksum: auth.signedHeaders.includes('x-amz-content-sha256'),
  });
  const host = String(req.headers.host);
  const [hostname, port] = host.split(':');
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname, port: port ? Number(port) : undefined, path: '/', query: {}, headers, body: text },
    { signingDate: amzDate(String(req.headers['x-amz-date'])) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  if (expected !== auth.signature) return err('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');

  let input: any;
  try {
    input = JSON.parse(text || '{}');
  } catch {
    return err('SerializationException', 'body is not JSON');
  }
  st.calls.push({ target, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service, input });

  if (target === TARGET_SSM && auth.service === 'ssm') {
    const p = st.parameters[input.Name];
    if (!p) return err('ParameterNotFound', `Parameter ${input.Name} not found.`);
    const secure = p.type === 'SecureString';
    const value = secure && !input.WithDecryption ? Buffer.from('kms-ciphertext:' + p.value).toString('base64') : p.value;
    return { status: 200, body: { Parameter: { Name: input.Name, Type: p.type ?? 'String', Value: value, Version: 1, DataType: 'text' } } };
  }
  if ((target === TARGET_ECR && auth.service === 'ecr') || (target === TARGET_ECR_PUBLIC && auth.service === 'ecr-public')) {
    if (st.ecr.failWith) return err(st.ecr.failWith, 'Rate exceeded');
    const token = Buffer.from(`${st.ecr.username}:${st.ecr.password}`).toString('base64');
    const expiresAt = st.now() / 1000 + st.ecr.ttlSeconds;
    if (target === TARGET_ECR_PUBLIC) return { status: 200, body: { authorizationData: { authorizationToken: token, expiresAt } } };
    const ids: string[] = input.registryIds?.length ? input.registryIds : ['000000000000'];
    return {
      status: 200,
      body: { authorizationData: ids.map((id) => ({ authorizationToken: token, expiresAt, proxyEndpoint: `https://${id}.dkr.ecr.${auth.region}.amazonaws.com` })) },
    };
  }
  return err('UnknownOperationException', `unknown target ${target} for service ${auth.service}`);
}
