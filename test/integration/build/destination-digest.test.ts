// A --destination with a digest is refused before anything is built or read, by both the build
// and `executor push` (no registry needed: nothing may be contacted).
import { strict as assert } from 'node:assert';
import { makeContext, runExecutor } from '../../support/executor';

const D = `sha256:${'b'.repeat(64)}`;

describe('--destination with a digest', function () {
  this.timeout(60000);

  it('is refused by a build before any step runs', async () => {
    const ctx = makeContext({ Dockerfile: 'FROM 127.0.0.1:1/never/pulled:1\nRUN echo never-runs\n' });
    const r = await runExecutor(['-c', ctx, '-d', `127.0.0.1:1/app/x:1@${D}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`invalid --destination "127\\.0\\.0\\.1:1/app/x:1@${D}": a destination names a tag to push to, not a digest`));
    assert.ok(!r.stderr.includes('127.0.0.1:1/never/pulled') && !r.stdout.includes('never-runs'), r.stderr);
  });

  it('is refused by executor push before the stored image is read', async () => {
    const r = await runExecutor(['push', '/nonexistent/layout', '-d', `127.0.0.1:1/app/x@${D}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid --destination "127\.0\.0\.1:1\/app\/x@sha256:b+": a destination names a tag to push to, not a digest/);
  });
});
