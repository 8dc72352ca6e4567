// S3 GetObject against a REAL S3-compatible server (s3rver on loopback), including credentials
// served the way ECS serves them (AWS_CONTAINER_CREDENTIALS_FULL_URI + authorization token).
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getObjectStream } from '../../../src/aws/s3';
import { signRequest } from '../../../src/aws/sigv4';
import { S3_KEY, recordingProxy, startS3, type S3Server } from '../../support/s3';

async function text(url: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { body } = await getObjectStream(url, { env });
  let t = '';
  for await (const c of body) t += c;
  return t;
}

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('aws/s3 against s3rver', function () {
  this.timeout(60000);
  let s3: S3Server;
  before(async () => {
    s3 = await startS3();
    await s3.put('contexts/app/context.tar.gz', 'pretend-tarball');
    await s3.put('creds/config.json', '{"auths":{}}');
  });
  after(() => s3.stop());

  it('streams an object, and reads context.tar.gz for a prefix URL (kaniko S3_ENDPOINT + S3_FORCE_PATH_STYLE)', async () => {
    const env = { ...s3.env, AWS_EC2_METADATA_DISABLED: 'true' };
    assert.equal(await text(`s3://${s3.bucket}/creds/config.json`, env), '{"auths":{}}');
    assert.equal(await text(`s3://${s3.bucket}/contexts/app/`, env), 'pretend-tarball');
    // the SDK's own override name works too
    const sdkEnv = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: S3_KEY, AWS_SECRET_ACCESS_KEY: 'x-any-secret', AWS_EC2_METADATA_DISABLED: 'true' };
    assert.equal(await text(`s3://${s3.bucket}/creds/config.json`, sdkEnv), '{"auths":{}}');
  });

  it('names the object for a missing key, a missing bucket and rejected credentials, without secrets', async () => {
    const env = { ...s3.env, AWS_EC2_METADATA_DISABLED: 'true' };
    let m = await message(getObjectStream(`s3://${s3.bucket}/creds/nope.json`, { env }));
    assert.match(m, /cannot read s3:\/\/drydock-test\/creds\/nope\.json: object "creds\/nope\.json" does not exist in bucket "drydock-test" \(NoSuchKey/);
    m = await message(getObjectStream('s3://no-such-bucket/x', { env }));
    assert.match(m, /bucket "no-such-bucket" does not exist/);
    m = await message(getObjectStream(`s3://${s3.bucket}/creds/config.json`, { env: { ...env, AWS_ACCESS_KEY_ID: 'AKIDNOTKNOWN', AWS_SECRET_ACCESS_KEY: 'not-known-secret-123' } }));
    assert.match(m, /cannot read s3:\/\/drydock-test\/creds\/config\.json: S3 rejected the AWS credentials in use \(invalid or expired\) \(InvalidAccessKeyId/);
    assert.ok(!m.includes('not-known-secret-123'));
  });

  it('explains access denied (STAND-IN: s3rver has no bucket policies, so a tiny server answers S3\'s documented 403 AccessDenied XML)', async () => {
    const srv = http.createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R1</RequestId></Error>');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const env = { ...s3.env, S3_ENDPOINT: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, AWS_SECRET_ACCESS_KEY: 'denied-secret-456' };
      const m = await message(getObjectStream('s3://locked/ci/config.json', { env }));
      assert.match(m, /cannot read s3:\/\/locked\/ci\/config\.json: access denied: the AWS credentials in use lack s3:GetObject/);
      assert.ok(!m.includes('denied-secret-456'));
    } finally {
      srv.close();
    }
  });

  it('asks for a key with . and .. segments literally, signed as sent (STAND-IN: records the request line; a URL would fetch a/b instead of a/../b)', async () => {
    const seen: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
    const srv = http.createServer((req, res) => {
      seen.push({ url: req.url!, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('the literal object');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as AddressInfo).port;
      const env = { S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_FORCE_PATH_STYLE: 'true', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDLITERAL', AWS_SECRET_ACCESS_KEY: 'literal-secret', AWS_EC2_METADATA_DISABLED: 'true', HOME: '/nonexistent' };
      assert.equal(await text('s3://bkt/team/../other/./x.json', env), 'the literal object');
      assert.equal(seen[0].url, '/bkt/team/../other/./x.json');
      const date = String(seen[0].headers['x-amz-date']);
      const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
      const expected = await signRequest({ method: 'GET', url: new URL(`http://127.0.0.1:${port}/`), path: seen[0].url, headers: { 'x-amz-content-sha256': String(seen[0].headers['x-amz-content-sha256']) } },
        { service: 's3', region: 'us-east-1', credentials: { accessKeyId: 'AKIDLITERAL', secretAccessKey: 'literal-secret' }, uriEscapePath: false, signingDate });
      assert.equal(seen[0].headers.authorization, expected.authorization, 'the signature covers the literal path');
    } finally {
      srv.close();
    }
  });

  it('signs with ECS container credentials (FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN): the server sees that key id', async () => {
    // An ECS-style credentials endpoint on 127.0.0.1 (the SDK accepts loopback for FULL_URI over
    // http). It answers only with the right Authorization token, as the ECS agent does.
    const seen: string[] = [];
    const creds = http.createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      if (req.headers.authorization !== 'ecs-auth-token-789') {
        res.writeHead(401);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ AccessKeyId: S3_KEY, SecretAccessKey: 'container-secret-abc', Token: 'container-session-token-def', Expiration: new Date(Date.now() + 3600_000).toISOString() }));
    });
    await new Promise<void>((r) => creds.listen(0, '127.0.0.1', r));
    // s3rver does not verify signatures: a recording proxy in front of it captures the signed
    // request so the test can check the credential scope's key id and the session token
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const env: NodeJS.ProcessEnv = {
        S3_ENDPOINT: proxy.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: 'eu-central-1',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${(creds.address() as AddressInfo).port}/v2/credentials/task`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'ecs-auth-token-789',
        AWS_EC2_METADATA_DISABLED: 'true',
        HOME: '/nonexistent',
      };
      assert.equal(await text(`s3://${s3.bucket}/creds/config.json`, env), '{"auths":{}}');
      assert.deepEqual(seen, ['ecs-auth-token-789']);
      const signed = proxy.requests.find((r) => r.url === `/${s3.bucket}/creds/config.json`);
      assert.ok(signed, 'request reached the server');
      assert.match(String(signed.headers.authorization), new RegExp(`^AWS4-HMAC-SHA256 Credential=${S3_KEY}/\\d{8}/eu-central-1/s3/aws4_request, SignedHeaders=[^,]*x-amz-security-token`));
      assert.equal(signed.headers['x-amz-security-token'], 'container-session-token-def');
    } finally {
      await proxy.close();
      creds.close();
    }
  });
});
