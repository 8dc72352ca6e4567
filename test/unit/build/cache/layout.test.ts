// The caches' OCI layout store under concurrent writers: index.json entries added by several
// processes at once are all kept (a lock file around the read-modify-write), a lock left by a dead
// process is broken, and a lock held too long turns a cache store into a warning, not a failure.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LayoutStore, REF_NAME } from '../../../../src/build/cache/layout';
import { OciLayoutLayerCache } from '../../../../src/build/cache/oci-cache';
import { StepCache } from '../../../../src/build/cache/step-cache';
import { defaultBuildOptions } from '../../../../src/build/options';
import { log } from '../../../../src/log';
import * as mt from '../../../../src/image/mediatypes';
import { tmpDir } from '../../../support/testbed';

const LAYOUT_JS = path.resolve(__dirname, '../../../../src/build/cache/layout.js');

const desc = (name: string) => {
  const digest = 'sha256:' + createHash('sha256').update(name).digest('hex');
  return { mediaType: mt.OCI_MANIFEST, digest, size: 1, annotations: { [REF_NAME]: name } };
};

/** A child process adding `n` entries named `<tag>-<i>` to the layout `dir`. */
function writer(dir: string, tag: string, n: number): Promise<void> {
  const script = `
    const { LayoutStore, REF_NAME } = require(${JSON.stringify(LAYOUT_JS)});
    const crypto = require('node:crypto');
    (async () => {
      const s = new LayoutStore(${JSON.stringify(dir)});
      for (let i = 0; i < ${n}; i++) {
        const name = ${JSON.stringify(tag)} + '-' + i;
        const digest = 'sha256:' + crypto.createHash('sha256').update(name).digest('hex');
        await s.updateIndex({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1, annotations: { [REF_NAME]: name } }, (m) => m.annotations?.[REF_NAME] === name);
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => { err += String(c); });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${tag} exited ${code}: ${err}`))));
  });
}

describe('build/cache LayoutStore index.json across processes', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = path.join(tmpDir('drydock-layout-lock-'), 'cache');
  });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('keeps every entry when several processes add entries at once', async () => {
    const tags = ['a', 'b', 'c', 'd'];
    const n = 40;
    await Promise.all(tags.map((t) => writer(dir, t, n)));
    const names = new Set(new LayoutStore(dir).readIndex().manifests.map((m) => m.annotations?.[REF_NAME]));
    const lost = tags.flatMap((t) => Array.from({ length: n }, (_, i) => `${t}-${i}`)).filter((x) => !names.has(x));
    assert.deepEqual(lost, [], `${lost.length} entries lost`);
    assert.equal(fs.existsSync(path.join(dir, 'index.json.lock')), false, 'the lock is released');
  });

  it('breaks a lock left by a dead process on this host, and one too old to be live', async () => {
    fs.mkdirSync(dir, { recursive: true });
    const lock = path.join(dir, 'index.json.lock');
    // a pid that is not running: a short-lived child's, after it exited
    const dead = await new Promise<number>((resolve) => {
      const p = spawn(process.execPath, ['-e', '0']);
      p.on('exit', () => resolve(p.pid!));
    });
    fs.writeFileSync(lock, JSON.stringify({ pid: dead, host: os.hostname(), at: new Date().toISOString() }));
    const store = new LayoutStore(dir, { waitMs: 2000, staleMs: 60000 });
    await store.updateIndex(desc('one'), () => false);
    fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: 'some-other-host', at: '2020-01-01T00:00:00Z' }));
    const old = new Date(Date.now() - 120000);
    fs.utimesSync(lock, old, old);
    await store.updateIndex(desc('two'), () => false);
    assert.deepEqual(store.readIndex().manifests.map((m) => m.annotations?.[REF_NAME]), ['one', 'two']);
    assert.equal(fs.existsSync(lock), false);
  });

  it('waits a bounded time for a live lock, then the store is a warning and the build goes on', async () => {
    fs.mkdirSync(dir, { recursive: true });
    const lock = path.join(dir, 'index.json.lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), at: '2024-05-01T00:00:00.000Z' }));
    const store = new LayoutStore(dir, { waitMs: 300 });
    const t0 = Date.now();
    await assert.rejects(store.updateIndex(desc('x'), () => false), new RegExp(`the lock .*index\\.json\\.lock is held by pid ${process.pid} on .* since 2024-05-01.*remove the file`));
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(fs.readFileSync(lock, 'utf8').includes(String(process.pid)), true, 'a live lock is left alone');

    const cache = new OciLayoutLayerCache(dir, { ttlSeconds: 3600, lock: { waitMs: 300 } });
    const steps = new StepCache(cache, defaultBuildOptions());
    const content = Buffer.from('layer');
    const layer = {
      descriptor: { mediaType: mt.OCI_LAYER, digest: 'sha256:' + createHash('sha256').update(content).digest('hex'), size: content.length },
      diffId: 'sha256:' + createHash('sha256').update(content).digest('hex'),
      open: async () => (await import('node:stream')).Readable.from([content]),
    };
    const warnings: string[] = [];
    const orig = log.warn.bind(log);
    (log as { warn: (m: string) => void }).warn = (m: string) => { warnings.push(m); };
    try {
      steps.store('k'.repeat(64), layer, { history: {} }, 'Dockerfile:3');
      await steps.flush();
    } finally {
      (log as { warn: (m: string) => void }).warn = orig;
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Dockerfile:3: cannot store the layer in the OCI layout cache .*is held by pid/);
  });
});
