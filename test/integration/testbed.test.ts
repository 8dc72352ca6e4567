// The testbed itself: a registry in each mode answers /v2/ as documented, and base images land.
import { strict as assert } from 'node:assert';
import { pushBaseImages, run, skopeoOpts, startRegistry } from '../support/testbed';

describe('testbed', function () {
  this.timeout(120000);
  it('starts a plain registry and pushes the busybox base images', async () => {
    const reg = await startRegistry('plain');
    await pushBaseImages(reg);
    const out = JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${reg.host}/library/busybox:latest`]));
    assert.equal(out.Architecture, 'amd64');
    assert.equal(out.Os, 'linux');
  });
});
