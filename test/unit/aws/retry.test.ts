// The SDK's standard retry for S3 GetObject and the JSON protocol (SSM GetParameter), against
// STAND-IN servers on loopback that answer S3's and AWS JSON 1.1's documented errors.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getObjectStream } from '../../../src/aws/s3';
import { getParameter } from '../../../src/aws/ssm';
import { retryClock } from '../../../src/aws/retry';

type Answer = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function standin(answers: Answer[]): Promise<{ endpoint: string; count: () => number; close: () => void }> {
  let n = 0;
  const srv = http.createServer((req, res) => {
    const a = answers[Math.min(n++, answers.length - 1)];
    req.resume();
    req.on('end', () => a(req, res));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, count: () => n, close: () => srv.close() };
}

const s3Error = (status: number, code: string): Answer => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code} message</Message></Error>`);
};
const jsonError = (status: number, code: string): Answer => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify({ __type: code, message: `${code} message` }));
};
const reset: Answer = (req) => req.socket.destroy();
const ok = (body: string): Answer => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  res.end(body);
};

async function read(body: NodeJS.ReadableStream): Promise<string> {
  let t = '';
  for await (const c of body) t += c;
  return t;
}

describe('aws retries (the SDK\'s standard mode: 3 attempts, backoff with jitter)', () => {
  const waits: number[] = [];
  const saved = { ...retryClock };
  before(() => {
    retryClock.sleep = async (ms: number) => { waits.push(ms); };
    retryClock.random = () => 0.999;
  });
  after(() => Object.assign(retryClock, saved));
  beforeEach(() => { waits.length = 0; });

  const s3env = (endpoint: string) => ({ S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDRETRY', AWS_SECRET_ACCESS_KEY: 'retry-secret', AWS_EC2_METADATA_DISABLED: 'true', HOME: '/nonexistent' });

  it('S3 GetObject retries 5xx, SlowDown, 429 and dropped connections, with growing jittered waits', async () => {
    const s = await standin([s3Error(503, 'SlowDown'), reset, ok('the object')]);
    try {
      assert.equal(await read((await getObjectStream('s3://bkt/k', { env: s3env(s.endpoint) })).body), 'the object');
      assert.equal(s.count(), 3);
      assert.equal(waits.length, 2);
      assert.ok(waits[0] > 500 && waits[0] < 1000, `throttled: up to 500 ms * 2: ${waits}`);
      assert.ok(waits[1] > 200 && waits[1] < 400, `then up to 100 ms * 4: ${waits}`);
    } finally {
      s.close();
    }
    const t = await standin([(_q, r) => { r.writeHead(429); r.end(); }, ok('after 429')]);
    try {
      assert.equal(await read((await getObjectStream('s3://bkt/k', { env: s3env(t.endpoint) })).body), 'after 429');
    } finally {
      t.close();
    }
  });

  it('S3 GetObject gives up after 3 attempts, and never retries a 4xx or a body already handed on', async () => {
    const s = await standin([s3Error(500, 'InternalError')]);
    try {
      await assert.rejects(getObjectStream('s3://bkt/k', { env: s3env(s.endpoint) }), /cannot read s3:\/\/bkt\/k: .*InternalError.*\(after 3 attempts\)/);
      assert.equal(s.count(), 3);
    } finally {
      s.close();
    }
    const m = await standin([s3Error(404, 'NoSuchKey')]);
    try {
      await assert.rejects(getObjectStream('s3://bkt/k', { env: s3env(m.endpoint) }), /does not exist in bucket "bkt" \(NoSuchKey/);
      assert.equal(m.count(), 1);
    } finally {
      m.close();
    }
    const cut = await standin([(req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part', () => setTimeout(() => req.socket.destroy(), 20));
    }]);
    try {
      const { body } = await getObjectStream('s3://bkt/k', { env: s3env(cut.endpoint) });
      await assert.rejects(read(body));
      assert.equal(cut.count(), 1, 'the caller had the body: no second request');
    } finally {
      cut.close();
    }
  });

  it('SSM GetParameter retries ThrottlingException, 429, 5xx and resets; not ParameterNotFound', async () => {
    const env = (endpoint: string) => ({ AWS_ENDPOINT_URL_SSM: endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDRETRY', AWS_SECRET_ACCESS_KEY: 'retry-secret', AWS_EC2_METADATA_DISABLED: 'true', HOME: '/nonexistent' });
    const value: Answer = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Parameter: { Name: '/ci/p', Type: 'String', Value: 'the value' } }));
    };
    const s = await standin([jsonError(400, 'ThrottlingException'), jsonError(503, 'ServiceUnavailable'), value]);
    try {
      assert.equal(await getParameter('/ci/p', { env: env(s.endpoint) }), 'the value');
      assert.equal(s.count(), 3);
    } finally {
      s.close();
    }
    const r = await standin([reset, (_q, res) => { res.writeHead(429); res.end(); }, value]);
    try {
      assert.equal(await getParameter('/ci/p', { env: env(r.endpoint) }), 'the value');
      assert.equal(r.count(), 3);
    } finally {
      r.close();
    }
    const nf = await standin([jsonError(400, 'ParameterNotFound')]);
    try {
      await assert.rejects(getParameter('/ci/p', { env: env(nf.endpoint) }), /failed with ParameterNotFound/);
      assert.equal(nf.count(), 1);
    } finally {
      nf.close();
    }
    const down = await standin([jsonError(500, 'InternalServerError')]);
    try {
      await assert.rejects(getParameter('/ci/p', { env: env(down.endpoint) }), /InternalServerError.*\(after 3 attempts\)/);
      assert.equal(down.count(), 3);
    } finally {
      down.close();
    }
  });
});
