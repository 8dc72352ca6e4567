// kaniko's s3:// build contexts: the executor fetches context.tar.gz from a real S3-compatible
// server on loopback (S3_ENDPOINT, S3_FORCE_PATH_STYLE as kaniko reads them).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext, runExecutor, umociUnpack } from '../../support/executor';
import { startS3 } from '../../support/s3';
import { run, tmpDir } from '../../support/testbed';

describe('executor: s3:// build context', function () {
  this.timeout(120000);
  it('builds from s3://bucket/prefix (context.tar.gz) and names a missing object clearly', async () => {
    const s3 = await startS3();
    const ctx = makeContext({ Dockerfile: 'FROM scratch\nCOPY msg.txt /msg.txt\n', 'msg.txt': 'from s3\n' });
    const tgz = path.join(tmpDir(), 'context.tar.gz');
    run('tar', ['-czf', tgz, '-C', ctx, '.']);
    await s3.put('ctx/app/context.tar.gz', fs.readFileSync(tgz));
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['--context', `s3://${s3.bucket}/ctx/app`, '--no-push', '--oci-layout-path', layout], { env: s3.env });
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    assert.equal(fs.readFileSync(path.join(rootfs, 'msg.txt'), 'utf8'), 'from s3\n');

    const missing = await runExecutor(['--context', `s3://${s3.bucket}/nope`, '--no-push'], { env: s3.env });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope\/context\.tar\.gz/);
    assert.doesNotMatch(missing.stderr, /S3RVER/, 'no credential in the message');
  });
});
