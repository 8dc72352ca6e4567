// The token flow against the real registry and the testbed's token server (token-server.js logs
// one line per token it issues): tokens are cached per (host, scopes), push asks for pull+push,
// a cross-repository mount also asks for pull on the source.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { TESTBED_DIR } from '../../support/testbed';
import { parseReference } from '../../../src/image/reference';
import type { Progress } from '../../../src/registry';
import { clientFor, makeTestImage, seededRegistry } from './helpers';

const tokenLog = () => path.join(TESTBED_DIR, 'run/token-server.log');
const issued = () => fs.readFileSync(tokenLog(), 'utf8').split('\n').filter((l) => / (GET|POST) /.test(l));

describe('registry client token flow (token registry)', function () {
  this.timeout(120000);

  it('caches a token per scope and asks for exactly the scopes an operation needs', async () => {
    const reg = await seededRegistry('token');
    const client = clientFor(reg);
    try {
      const before = issued().length;
      const ref = parseReference(`${reg.host}/library/busybox:latest`);
      for (let i = 0; i < 3; i++) await client.getManifest(ref);
      const pulls = issued().slice(before);
      assert.equal(pulls.length, 1, `one token for three pulls, got:\n${pulls.join('\n')}`);
      assert.match(pulls[0], /GET testuser \[\{"type":"repository","name":"library\/busybox","actions":\["pull"\]\}\]/);

      const img = await makeTestImage();
      const src = parseReference(`${reg.host}/drydock/auth-src:v1`);
      const dst = parseReference(`${reg.host}/drydock/auth-dst:v1`);
      const mark = issued().length;
      await client.pushBlob(src, img.layerDescriptor, () => Readable.from([img.layer]));
      assert.equal(await client.pushBlob(dst, img.layerDescriptor, () => Readable.from([img.layer]), { mountFrom: [src.repository] }), 'mounted');
      const pushes = issued().slice(mark).join('\n');
      assert.match(pushes, /"name":"drydock\/auth-src","actions":\["pull","push"\]/);
      assert.match(pushes, /"name":"drydock\/auth-dst","actions":\["pull","push"\]\},\{"type":"repository","name":"drydock\/auth-src","actions":\["pull"\]/);
    } finally {
      await client.close();
    }
  });

  it('reports pull progress up to the blob size', async () => {
    const reg = await seededRegistry('token');
    const seen: Progress[] = [];
    const client = clientFor(reg, { onProgress: (p) => seen.push(p) });
    try {
      const ref = parseReference(`${reg.host}/library/busybox:latest`);
      const img = await client.resolveImage(ref, { os: 'linux', architecture: 'amd64' });
      const stream = await client.openBlob(img.ref, img.layers[0]);
      for await (const _ of stream) { /* drain */ }
      assert.ok(seen.length > 0);
      assert.deepEqual(seen.at(-1), { digest: img.layers[0].digest, done: img.layers[0].size, total: img.layers[0].size, direction: 'pull' });
      assert.ok(seen.every((p) => p.digest === img.layers[0].digest), 'the config read is not reported as progress');
    } finally {
      await client.close();
    }
  });
});
