// Signed URLs (where registries redirect blob transfers) carry credentials in their query; debug
// logs print every request URL, errors may name one.
import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Logger, redact, UserError } from '../../../src/log';

describe('redact: credentials in signed-URL query strings', () => {
  const cases: Array<[string, string, string[]]> = [
    ['GCS v4', 'https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam.gserviceaccount.com%2F20240101%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20240101T000000Z&X-Goog-Expires=600&X-Goog-SignedHeaders=host&X-Goog-Signature=0123456789abcdefSECRETGCS',
      ['SECRETGCS', 'gserviceaccount']],
    ['GCS v2', 'https://storage.googleapis.com/b/o?GoogleAccessId=sa@p.iam&Expires=1700000000&Signature=bSECRET%2Fv2sig%3D', ['bSECRET']],
    ['Azure SAS', 'https://acct.blob.core.windows.net/c/blob?sv=2021-08-06&se=2024-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=AZURESECRETSAS%3D', ['AZURESECRETSAS']],
    ['CloudFront', 'https://d111.cloudfront.net/blob?Expires=1&Policy=eyJTECRETpolicy&Signature=CFSECRET~sig__&Key-Pair-Id=K2', ['CFSECRET', 'eyJTECRETpolicy']],
    ['Alibaba OSS', 'https://b.oss-cn-hangzhou.aliyuncs.com/o?x-oss-signature=OSSSECRET&x-oss-security-token=OSSTOKEN', ['OSSSECRET', 'OSSTOKEN']],
    ['Akamai', 'https://cdn.example/blob?hdnts=exp=1~acl=/*~hmac=AKAMAISECRET', ['AKAMAISECRET']],
  ];
  for (const [name, url, secrets] of cases) {
    it(`masks ${name} and keeps the rest of the URL`, () => {
      const out = redact(`registry request url=${url} status=200`);
      for (const s of secrets) assert.ok(!out.includes(s), out);
      assert.ok(out.startsWith(`registry request url=${url.slice(0, url.indexOf('?'))}?`), out);
      assert.ok(out.endsWith(' status=200'), out);
    });
  }

  it('leaves harmless query parameters and the Azure expiry alone', () => {
    const out = redact('https://acct.blob.core.windows.net/c/blob?sv=2021-08-06&se=2024-01-01&sig=S3CRET&digest=sha256:abc');
    assert.equal(out, 'https://acct.blob.core.windows.net/c/blob?sv=2021-08-06&se=2024-01-01&sig=***&digest=sha256:abc');
  });

  it('masks them in debug log lines (text and JSON) and in error messages', () => {
    const url = 'http://localhost:1/v2/r/blobs/sha256:ab?X-Goog-Signature=GSIG0123&sv=2021&sig=AZSIG%3D&Expires=1';
    for (const format of ['text', 'json'] as const) {
      const lines: string[] = [];
      const log = new Logger({ format, level: 'debug', stream: new Writable({ write(c, _e, cb) { lines.push(c.toString()); cb(); } }) });
      log.debug('registry request', { url });
      assert.equal(lines.length, 1);
      assert.ok(!lines[0].includes('GSIG0123') && !lines[0].includes('AZSIG'), lines[0]);
    }
    const e = new UserError(`storage host refused ${url}`);
    assert.ok(!e.message.includes('GSIG0123') && !e.message.includes('AZSIG'), e.message);
  });
});
