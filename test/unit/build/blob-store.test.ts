// The per-build blob store: one download per digest however many consumers ask at once.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { BlobStore } from '../../../src/build/blob-store';
import { tmpDir } from '../../support/testbed';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);

async function readAll(r: Readable): Promise<string> {
  let s = '';
  for await (const c of r) s += c;
  return s;
}

describe('build/blob-store', () => {
  let dir: string;
  beforeEach(() => { dir = path.join(tmpDir('drydock-blobs-'), 'blobs'); });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('creates its directory and names blobs by digest', () => {
    const s = new BlobStore(dir);
    assert.ok(fs.statSync(dir).isDirectory());
    assert.equal(s.pathOf(D1), path.join(dir, 'sha256-' + '1'.repeat(64)));
    assert.equal(s.has(D1), false);
  });

  it('ensure fetches once under concurrency and every caller gets the file', async () => {
    const s = new BlobStore(dir);
    let fetches = 0;
    const fetch = async () => {
      fetches++;
      await new Promise((r) => setTimeout(r, 20));
      return Readable.from([Buffer.from('hello '), Buffer.from('blob')]);
    };
    const files = await Promise.all([s.ensure(D1, fetch), s.ensure(D1, fetch), s.ensure(D1, fetch)]);
    assert.equal(fetches, 1);
    assert.deepEqual(new Set(files), new Set([s.pathOf(D1)]));
    assert.equal(fs.readFileSync(files[0], 'utf8'), 'hello blob');
    assert.equal(await s.ensure(D1, fetch), s.pathOf(D1));
    assert.equal(fetches, 1, 'a blob on disk is not fetched again');
    assert.equal(s.has(D1), true);
    assert.equal(await readAll(s.open(D1)), 'hello blob');
    assert.deepEqual(fs.readdirSync(dir), ['sha256-' + '1'.repeat(64)], 'no partial files left');
  });

  it('different digests are fetched separately', async () => {
    const s = new BlobStore(dir);
    const seen: string[] = [];
    await Promise.all([D1, D2].map((d) => s.ensure(d, async () => { seen.push(d); return Readable.from([d]); })));
    assert.deepEqual(seen.sort(), [D1, D2]);
    assert.equal(fs.readFileSync(s.pathOf(D2), 'utf8'), D2);
  });

  it('a failed fetch leaves nothing behind and a later ensure tries again', async () => {
    const s = new BlobStore(dir);
    const failing = async () => new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('connection reset'));
      },
    });
    await assert.rejects(Promise.all([s.ensure(D1, failing), s.ensure(D1, failing)]), /connection reset/);
    assert.equal(s.has(D1), false);
    assert.deepEqual(fs.readdirSync(dir), []);
    await assert.rejects(s.ensure(D1, async () => { throw new Error('refused'); }), /refused/);
    assert.equal(await s.ensure(D1, async () => Readable.from(['ok'])), s.pathOf(D1));
    assert.equal(fs.readFileSync(s.pathOf(D1), 'utf8'), 'ok');
  });

  it('startFetch sends the request at once and hands its stream to the first reader', async () => {
    const s = new BlobStore(dir);
    let fetches = 0;
    const fetch = async () => { fetches++; return Readable.from([Buffer.from('early '), Buffer.from('bytes')]); };
    s.startFetch(D1, fetch);
    assert.equal(fetches, 1, 'started at once');
    const again = async (): Promise<Readable> => { throw new Error('fetched again'); };
    assert.equal(await readAll(await s.openOrFetch(D1, again)), 'early bytes');
    assert.equal(await s.ensure(D1, again), s.pathOf(D1), 'the store waits for the file being written');
    assert.equal(fs.readFileSync(s.pathOf(D1), 'utf8'), 'early bytes');
    s.startFetch(D1, fetch);
    assert.equal(fetches, 1, 'a blob on disk is not started again');
    // ensure takes a started download too
    s.startFetch(D2, async () => Readable.from(['second']));
    assert.equal(await s.ensure(D2, again), s.pathOf(D2));
    assert.equal(fs.readFileSync(s.pathOf(D2), 'utf8'), 'second');
  });

  it('a download started again replaces the first, which is closed', async () => {
    const s = new BlobStore(dir);
    const first = Readable.from(['from a mirror that failed']);
    s.startFetch(D1, async () => first);
    s.startFetch(D1, async () => Readable.from(['from the registry']));
    assert.equal(await readAll(await s.openOrFetch(D1, async () => { throw new Error('fetched again'); })), 'from the registry');
    await new Promise((r) => setImmediate(r));
    assert.equal(first.destroyed, true);
  });

  it('a started download that failed fails its reader, and the next reader fetches afresh', async () => {
    const s = new BlobStore(dir);
    s.startFetch(D1, async () => { throw new Error('503 from registry'); });
    await new Promise((r) => setImmediate(r)); // rejected before anyone reads: no unhandled rejection
    await assert.rejects(s.openOrFetch(D1, async () => Readable.from(['unused'])), /503 from registry/);
    assert.equal(await readAll(await s.openOrFetch(D1, async () => Readable.from(['retried']))), 'retried');
  });

  it('adopt moves a built file in; adopting a digest already present drops the new file', async () => {
    const s = new BlobStore(dir);
    const tmp1 = path.join(path.dirname(dir), 'layer1.tmp');
    fs.writeFileSync(tmp1, 'first');
    assert.equal(await s.adopt(tmp1, D1), s.pathOf(D1));
    assert.equal(fs.existsSync(tmp1), false);
    const tmp2 = path.join(path.dirname(dir), 'layer2.tmp');
    fs.writeFileSync(tmp2, 'second');
    assert.equal(await s.adopt(tmp2, D1), s.pathOf(D1));
    assert.equal(fs.existsSync(tmp2), false);
    assert.equal(fs.readFileSync(s.pathOf(D1), 'utf8'), 'first');
    let fetched = false;
    await s.ensure(D1, async () => { fetched = true; return Readable.from(['x']); });
    assert.equal(fetched, false, 'an adopted blob is not fetched');
  });
});
