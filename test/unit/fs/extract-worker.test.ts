import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { log, UserError } from '../../../src/log';
import { failedWithExtraction, layerWeight, startTapExtraction, worthAWorker, WORKER_MIN_ENTRIES } from '../../../src/fs/extract-worker';
import { type ExtractOptions } from '../../../src/fs/extract';
import { writeLayer } from '../../../src/fs/layer-writer';
import { type LayerEntry } from '../../../src/fs/types';
import { tmpDir } from '../../support/testbed';

const T = new Date('2024-05-06T07:08:09Z');

function e(p: string, type: LayerEntry['type'], extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T, ...extra };
}

/** Write `entries` as a layer while applying it to `root` through the tap, as a COPY does. */
async function copyInto(root: string, layerFile: string, entries: LayerEntry[], inWorker: boolean, opts: ExtractOptions = {}) {
  const x = startTapExtraction(root, opts, layerWeight(entries), inWorker);
  await writeLayer(entries, layerFile, { compression: 'gzip', tap: x.tap }).catch(failedWithExtraction(x));
  return x.done;
}

/** path → kind, mode, content or target, mtime of everything under root */
function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, r));
      const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(root, r))}` : fs.readFileSync(path.join(root, r), 'utf8');
      out[r] = `${(st.mode & 0o7777).toString(8)} ${st.isSymbolicLink() ? '' : st.mtimeMs} ${what}`;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

describe('fs/extract-worker', () => {
  let dir: string;
  beforeEach(() => { dir = tmpDir('drydock-xw-'); });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('uses a worker only for layers of many entries', () => {
    assert.equal(worthAWorker({ entries: 10 }), false);
    assert.equal(worthAWorker({ entries: WORKER_MIN_ENTRIES + 1 }), true);
  });

  it('applies a layer in a worker exactly as on this thread (more than the in-flight bound of 4 MiB)', async () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(6 * 1024 * 1024 + 17, 7));
    const entries: LayerEntry[] = [e('app', 'dir'), e('app/big', 'file', { source: path.join(src, 'big'), mode: 0o600 })];
    for (let i = 0; i < 300; i++) entries.push(e(`app/d${i % 7}/f${i}`, 'file', { content: Buffer.from(`file ${i}\n`), mode: 0o640 }));
    for (let i = 0; i < 7; i++) entries.push(e(`app/d${i}`, 'dir', { mode: 0o750 }));
    entries.push(e('app/link', 'symlink', { linkname: 'd1/f1' }), e('app/exe', 'file', { content: Buffer.from('#!/bin/sh\n'), mode: 0o4755 }));
    const trees: Array<Record<string, string>> = [];
    for (const inWorker of [false, true]) {
      const root = path.join(dir, `root-${inWorker}`);
      fs.mkdirSync(root);
      const r = await copyInto(root, path.join(dir, `l-${inWorker}.tgz`), entries, inWorker);
      assert.equal(r.files, entries.length);
      trees.push(describeTree(root));
    }
    assert.deepEqual(trees[1], trees[0]);
    assert.equal(trees[1]['app/d1/f1'].split(' ')[0], '640');
    assert.equal(fs.statSync(path.join(dir, 'root-true/app/big')).size, 6 * 1024 * 1024 + 17);
  });

  it('a worker hands files to writer threads while its layer floods in, and the tree is the same', async function () {
    this.timeout(60000);
    // A worker busy with the main thread's messages hears nothing from its own threads until
    // they stop (src/fs/file-writers.ts): with message-based signals, writers started after the
    // first 1,000 files never got one.
    const entries: LayerEntry[] = [e('app', 'dir')];
    for (let d = 0; d < 20; d++) entries.push(e(`app/d${d}`, 'dir', { mode: 0o750 }));
    for (let i = 0; i < 3000; i++) entries.push(e(`app/d${i % 20}/f${i}`, 'file', { content: Buffer.alloc(300 + (i % 900), `${i}:`), mode: i % 3 ? 0o644 : 0o600 }));
    const trees: Array<Record<string, string>> = [];
    for (const writers of [0, 2]) {
      const root = path.join(dir, `root-${writers}`);
      fs.mkdirSync(root);
      const r = await copyInto(root, path.join(dir, `l-${writers}.tgz`), entries, true, { fileWriters: writers });
      assert.equal(r.files, entries.length);
      if (writers) assert.ok(r.byWriters > 0 && r.byWriters <= 2000, `writer threads created ${r.byWriters} of 3,000 files`);
      else assert.equal(r.byWriters, 0);
      trees.push(describeTree(root));
    }
    assert.deepEqual(trees[1], trees[0]);
  });

  it('keeps path safety in the worker: a symlink to /etc stays inside the root', async () => {
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    await copyInto(root, path.join(dir, 'l.tgz'), [e('evil', 'symlink', { linkname: '/etc' }), e('evil/drydock-xw-test', 'file', { content: Buffer.from('x') })], true);
    assert.equal(fs.readFileSync(path.join(root, 'etc/drydock-xw-test'), 'utf8'), 'x');
    assert.equal(fs.existsSync('/etc/drydock-xw-test'), false);
  });

  for (const inWorker of [false, true]) {
    it(`a failing extraction fails the COPY with the entry named (${inWorker ? 'worker' : 'this thread'})`, async () => {
      // several times: the worker's failure races the writer's end (once, ~1 run in 4 hung there)
      for (let round = 0; round < (inWorker ? 8 : 1); round++) {
        const root = path.join(dir, `root-${round}`);
        fs.mkdirSync(root);
        fs.writeFileSync(path.join(root, 'd'), 'a file where the layer needs a directory');
        const entries = Array.from({ length: 3000 }, (_, i) => e(`d/f${i}`, 'file', { content: Buffer.alloc(1000) }));
        await assert.rejects(copyInto(root, path.join(dir, `l-${round}.tgz`), entries, inWorker), (err: Error) => {
          assert.ok(err instanceof UserError, String(err));
          assert.equal(err.message, 'entry "d/f0": "d" is not a directory, expected one as a parent');
          return true;
        });
      }
    });

    it(`a failing writer fails the COPY with its error and stops the extraction (${inWorker ? 'worker' : 'this thread'})`, async () => {
      const root = path.join(dir, 'root');
      fs.mkdirSync(root);
      // the missing source comes after 8 MB, when the tap is full
      const entries = [...Array.from({ length: 400 }, (_, i) => e(`f${i}`, 'file', { content: Buffer.alloc(20000) })), e('zz', 'file', { source: path.join(dir, 'missing') })];
      await assert.rejects(copyInto(root, path.join(dir, 'l.tgz'), entries, inWorker), /layer entry "zz": cannot open source file .*missing/);
    });
  }

  it('a writer failing before it writes anything stops the worker too', async () => {
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    await assert.rejects(copyInto(root, path.join(dir, 'l.tgz'), [e('a', 'file'), e('a', 'file')], true), /occurs twice/);
  });

  it('leaves no worker behind when either side fails: the process exits on its own', function () {
    this.timeout(20000);
    const mod = (m: string) => JSON.stringify(path.join(__dirname, '../../../src/fs', m));
    const script = `
      const { startTapExtraction, failedWithExtraction } = require(${mod('extract-worker')});
      const { writeLayer } = require(${mod('layer-writer')});
      const fs = require('fs');
      const dir = ${JSON.stringify(dir)};
      const e = (p, extra) => ({ path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), ...extra });
      (async () => {
        fs.mkdirSync(dir + '/r1'); fs.writeFileSync(dir + '/r1/d', 'x');
        const a = Array.from({ length: 3000 }, (_, i) => e('d/f' + i, { content: Buffer.alloc(100) }));
        const x1 = startTapExtraction(dir + '/r1', {}, { entries: a.length }, true);
        await writeLayer(a, dir + '/l1', { compression: 'none', tap: x1.tap }).then(() => x1.done, failedWithExtraction(x1)).catch((err) => console.log('1:', err.message));
        fs.mkdirSync(dir + '/r2');
        const b = [...a.map((x) => ({ ...x, path: 'x' + x.path })), e('zz', { source: dir + '/missing' })];
        const x2 = startTapExtraction(dir + '/r2', {}, { entries: b.length }, true);
        await writeLayer(b, dir + '/l2', { compression: 'none', tap: x2.tap }).then(() => x2.done, failedWithExtraction(x2)).catch((err) => console.log('2:', err.message));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15000 });
    assert.equal(r.signal, null, `the process did not exit on its own (a worker left running?): ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^1: entry "d\/f0": "d" is not a directory/m);
    assert.match(r.stdout, /^2: layer entry "zz": cannot open source file/m);
  });

  it('uses a prestarted worker for the next layer, and an unused one does not keep the process alive', function () {
    this.timeout(20000);
    const mod = (m: string) => JSON.stringify(path.join(__dirname, '../../../src/fs', m));
    const script = (use: boolean) => `
      const wt = require('worker_threads');
      let made = 0;
      const Real = wt.Worker;
      wt.Worker = class extends Real { constructor(...a) { super(...a); made++; } };
      const { prestartExtractionWorker, startTapExtraction, failedWithExtraction } = require(${mod('extract-worker')});
      const { writeLayer } = require(${mod('layer-writer')});
      const fs = require('fs');
      const dir = ${JSON.stringify(dir)};
      prestartExtractionWorker();
      prestartExtractionWorker(); // one spare at most
      (async () => {
        if (!${use}) { console.log('made ' + made); return; }
        await new Promise((r) => setTimeout(r, 200)); // booted by now
        fs.mkdirSync(dir + '/r');
        const a = Array.from({ length: 50 }, (_, i) => ({ path: 'd/f' + i, type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: new Date(0), content: Buffer.from('n' + i) }));
        a.unshift({ path: 'd', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) });
        const x = startTapExtraction(dir + '/r', {}, { entries: a.length }, true);
        await writeLayer(a, dir + '/l', { compression: 'none', tap: x.tap }).catch(failedWithExtraction(x));
        const r = await x.done;
        console.log('made ' + made + ' files ' + r.files + ' ' + fs.readFileSync(dir + '/r/d/f49', 'utf8'));
      })();`;
    for (const use of [false, true]) {
      const r = spawnSync(process.execPath, ['-e', script(use)], { encoding: 'utf8', timeout: 15000 });
      assert.equal(r.signal, null, `the process did not exit on its own (a worker left running?): ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout.trim(), use ? 'made 1 files 51 n49' : 'made 1', r.stderr);
    }
  });

  it("passes the worker's log lines to this process's logger, at its level", async () => {
    const lines: string[] = [];
    const saved = { level: log.level, stream: log.stream };
    log.configure({ level: 'debug', stream: new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }) });
    try {
      const root = path.join(dir, 'root');
      fs.mkdirSync(root);
      await copyInto(root, path.join(dir, 'l.tgz'), [e('x', 'file', { content: Buffer.from('x'), xattrs: { 'user.k': 'v' } })], true);
    } finally {
      log.configure(saved);
    }
    assert.ok(lines.some((l) => l.startsWith('DEBUG layer carries extended attributes')), lines.join(''));
  });
});
