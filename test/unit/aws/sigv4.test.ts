// SigV4 against AWS's published test suite vectors, and the S3 variant (path signed as sent).
import { strict as assert } from 'node:assert';
import { signRequest } from '../../../src/aws/sigv4';
import { SUITE, VECTORS } from './sigv4-vectors';

describe('aws/sigv4', () => {
  for (const v of VECTORS) {
    it(`matches the AWS test suite vector ${v.name}`, async () => {
      const headers = await signRequest(
        { method: v.method, url: new URL(`https://${SUITE.host}${v.target}`), headers: { ...v.headers } },
        {
          service: SUITE.service,
          region: SUITE.region,
          credentials: { accessKeyId: SUITE.accessKeyId, secretAccessKey: SUITE.secretAccessKey, sessionToken: v.sessionToken },
          signingDate: new Date(SUITE.date),
        },
      );
      assert.equal(headers.authorization, v.authz);
      assert.equal(headers['x-amz-date'], '20150830T123600Z');
    });
  }

  it('signs an S3 key path as sent (no double encoding), matching the documented GetObject example', async () => {
    // From the S3 API reference "Signature Calculations for the Authorization Header" GET example
    // (examplebucket, test.txt, Range bytes=0-9, empty-body hash, 20130524T000000Z).
    const headers = await signRequest(
      {
        method: 'GET',
        url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
        headers: { range: 'bytes=0-9', 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      },
      {
        service: 's3',
        region: 'us-east-1',
        uriEscapePath: false,
        credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
        signingDate: new Date('2013-05-24T00:00:00Z'),
      },
    );
    assert.equal(
      headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });
});
