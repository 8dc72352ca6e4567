// S3 URL parsing and addressing (virtual-hosted, path style, kaniko's env names).
import { strict as assert } from 'node:assert';
import { objectTarget, objectUrl, parseS3Url } from '../../../src/aws/s3';
import { serviceEndpoint } from '../../../src/aws/endpoints';

describe('aws/s3 addressing', () => {
  it('defaults to context.tar.gz for a bucket or a prefix, as kaniko does', () => {
    assert.deepEqual(parseS3Url('s3://ctx'), { bucket: 'ctx', key: 'context.tar.gz' });
    assert.deepEqual(parseS3Url('s3://ctx/builds/42/'), { bucket: 'ctx', key: 'builds/42/context.tar.gz' });
    assert.deepEqual(parseS3Url('s3://ctx/builds/42/app.tgz'), { bucket: 'ctx', key: 'builds/42/app.tgz' });
  });
  it('rejects URLs that are not s3://bucket/key, naming the URL', () => {
    assert.throws(() => parseS3Url('https://ctx/x'), /invalid S3 URL "https:\/\/ctx\/x"/);
    assert.throws(() => parseS3Url('s3://ctx/dir/', null), /names no object/);
  });
  it('uses virtual-hosted style on AWS and encodes the key once', () => {
    const u = objectUrl({ bucket: 'my-bucket', key: 'a b/c+d.tar.gz' }, 'eu-west-1', {});
    assert.equal(u.href, 'https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd.tar.gz');
  });
  it('keeps . and .. segments of a key in the path it sends (S3 keys are literal)', () => {
    assert.equal(objectTarget({ bucket: 'my-bucket', key: 'a/../b/./c d' }, 'eu-west-1', {}).path, '/a/../b/./c%20d');
    assert.equal(objectTarget({ bucket: 'b', key: '../k' }, 'us-east-1', { S3_ENDPOINT: 'http://127.0.0.1:9000/base/', S3_FORCE_PATH_STYLE: 'true' }).path, '/base/b/../k');
  });
  it('honours S3_ENDPOINT and S3_FORCE_PATH_STYLE (kaniko) and AWS_ENDPOINT_URL_S3', () => {
    assert.equal(objectUrl({ bucket: 'b', key: 'k' }, 'us-east-1', { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true' }).href, 'http://127.0.0.1:9000/b/k');
    assert.equal(objectUrl({ bucket: 'bkt', key: 'k' }, 'us-east-1', { AWS_ENDPOINT_URL_S3: 'https://minio.example' }).href, 'https://bkt.minio.example/k');
    assert.equal(objectUrl({ bucket: 'bkt', key: 'k' }, 'us-east-1', { AWS_ENDPOINT_URL: 'https://minio.example', S3_FORCE_PATH_STYLE: '1' }).href, 'https://minio.example/bkt/k');
    // a dotted bucket cannot be a TLS virtual host
    assert.equal(objectUrl({ bucket: 'a.b', key: 'k' }, 'us-east-1', {}).href, 'https://s3.us-east-1.amazonaws.com/a.b/k');
  });
  it('picks per-service overrides before AWS_ENDPOINT_URL and partition suffixes for China', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:2' };
    assert.equal(serviceEndpoint('ssm', 'us-east-1', env).port, '2');
    assert.equal(serviceEndpoint('ecr', 'us-east-1', env).port, '1');
    assert.equal(serviceEndpoint('ecr', 'cn-north-1', {}).host, 'api.ecr.cn-north-1.amazonaws.com.cn');
    assert.equal(serviceEndpoint('ecr', 'eusc-de-east-1', {}).host, 'api.ecr.eusc-de-east-1.amazonaws.eu');
    assert.equal(serviceEndpoint('ssm', 'eusc-de-east-1', {}).host, 'ssm.eusc-de-east-1.amazonaws.eu');
    assert.throws(() => serviceEndpoint('s3', 'us-east-1', { S3_ENDPOINT: 'ftp://x' }), /S3_ENDPOINT/);
  });
});
