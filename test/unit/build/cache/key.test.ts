import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CacheKey, cacheKey, baseParentKey, instructionText, type CacheKeyParts } from '../../../../src/build/cache/key';
import { digestEntries } from '../../../../src/build/cache/entries-digest';
import { StepCache } from '../../../../src/build/cache/step-cache';
import { defaultBuildOptions } from '../../../../src/build/options';
import type { LayerEntry } from '../../../../src/fs/types';
import type { Instruction } from '../../../../src/dockerfile/types';
import { parseDockerfile } from '../../../../src/dockerfile';
import { emptyImage } from '../../../../src/image/image';
import { tmpDir } from '../../../support/testbed';

const base: CacheKeyParts = {
  parent: 'sha256:' + 'a'.repeat(64),
  instruction: 'COPY src/ /app/',
  args: { VERSION: '1.0', TARGETARCH: 'amd64' },
  env: ['PATH=/usr/bin:/bin', 'HOME=/root'],
  sources: 'b'.repeat(64),
  flags: { chown: '1000:1000', chmod: '0755', from: undefined },
  layerOptions: { reproducible: 'true', compression: 'gzip' },
};

describe('build/cache key', () => {
  it('is 64 hex digits and stable for the same parts', () => {
    const k = cacheKey(base);
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(cacheKey({ ...base }), k);
  });

  it('misses when any ONE part changes', () => {
    const k = cacheKey(base);
    const variants: Record<string, CacheKeyParts> = {
      parent: { ...base, parent: 'sha256:' + 'c'.repeat(64) },
      instruction: { ...base, instruction: 'COPY src/ /app' },
      'arg value': { ...base, args: { ...base.args, VERSION: '1.1' } },
      'arg added': { ...base, args: { ...base.args, EXTRA: '' } },
      'arg removed': { ...base, args: { VERSION: '1.0' } },
      'env value': { ...base, env: ['PATH=/usr/bin:/bin', 'HOME=/home'] },
      'env order': { ...base, env: [...base.env].reverse() },
      'env added': { ...base, env: [...base.env, 'X=1'] },
      sources: { ...base, sources: 'd'.repeat(64) },
      'sources absent': { ...base, sources: undefined },
      'chown': { ...base, flags: { ...base.flags, chown: '0:0' } },
      'chmod': { ...base, flags: { ...base.flags, chmod: '0644' } },
      'from set': { ...base, flags: { ...base.flags, from: 'builder' } },
      'layer options': { ...base, layerOptions: { ...base.layerOptions, reproducible: 'false' } },
    };
    const seen = new Set([k]);
    for (const [what, parts] of Object.entries(variants)) {
      const v = cacheKey(parts);
      assert.notEqual(v, k, `changing ${what} must change the key`);
      assert.ok(!seen.has(v), `changing ${what} collided with another variant`);
      seen.add(v);
    }
  });

  it('does not depend on the order args or flags were set in', () => {
    assert.equal(cacheKey({ ...base, args: { TARGETARCH: 'amd64', VERSION: '1.0' } }), cacheKey(base));
  });

  it('cannot be made ambiguous by moving text between parts', () => {
    const p: CacheKeyParts = { parent: 'p', instruction: 'RUN a', args: {}, env: [] };
    assert.notEqual(cacheKey({ ...p, args: { a: 'bc' } }), cacheKey({ ...p, args: { ab: 'c' } }));
    assert.notEqual(cacheKey({ ...p, env: ['a', 'bc'] }), cacheKey({ ...p, env: ['ab', 'c'] }));
    assert.notEqual(cacheKey({ ...p, env: ['a=b'] }), cacheKey({ ...p, args: { a: 'b' } }));
    assert.notEqual(cacheKey({ ...p, parent: 'pRUN', instruction: ' a' }), cacheKey(p));
    assert.notEqual(cacheKey({ ...p, sources: '' }), cacheKey(p), 'empty is not absent');
    assert.notEqual(cacheKey({ ...p, flags: { chown: '' } }), cacheKey({ ...p, flags: {} }));
    assert.notEqual(new CacheKey().bytes('a', 'b').hex(), new CacheKey().bytes('ab', '').hex());
    assert.notEqual(new CacheKey().list('l', ['x']).hex(), new CacheKey().bytes('l', 'x').hex());
  });

  it('refuses parts after the key was computed', () => {
    const k = new CacheKey().bytes('a', 'b');
    k.hex();
    assert.throws(() => k.bytes('c', 'd'), /after the key was computed/);
  });

  it('chains from the base digest and platform; scratch differs per platform', () => {
    assert.notEqual(baseParentKey(undefined, 'linux/amd64'), baseParentKey(undefined, 'linux/arm64'));
    assert.notEqual(baseParentKey('sha256:' + 'a'.repeat(64), 'linux/amd64'), baseParentKey('sha256:' + 'b'.repeat(64), 'linux/amd64'));
    assert.equal(baseParentKey('sha256:' + 'a'.repeat(64), 'linux/amd64'), baseParentKey('sha256:' + 'a'.repeat(64), 'linux/amd64'));
  });

  it('sees heredoc bodies that Instruction.text leaves out', () => {
    const a = parseDockerfile('FROM scratch\nRUN <<EOF\necho one\nEOF\n', 'Dockerfile').stages[0].instructions[0] as Instruction & { heredocs: never[] };
    const b = parseDockerfile('FROM scratch\nRUN <<EOF\necho two\nEOF\n', 'Dockerfile').stages[0].instructions[0] as Instruction & { heredocs: never[] };
    assert.equal(a.text, b.text);
    assert.notEqual(instructionText(a.text, a.heredocs), instructionText(b.text, b.heredocs));
    assert.equal(instructionText('RUN true', []), 'RUN true');
  });
});

describe('build/cache digestEntries', () => {
  const t = new Date(1000);
  const file = (p: string, content: string, extra: Partial<LayerEntry> = {}): LayerEntry => ({ path: p, type: 'file', content: Buffer.from(content), mode: 0o644, uid: 0, gid: 0, mtime: t, ...extra });
  const entries = (): LayerEntry[] => [
    { path: 'app', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t },
    file('app/a.txt', 'hello'),
    { path: 'app/link', type: 'symlink', linkname: 'a.txt', mode: 0o777, uid: 0, gid: 0, mtime: t },
  ];

  it('depends on content, mode, owner, type and link target, not on times or order', async () => {
    const d = await digestEntries(entries());
    assert.match(d, /^[0-9a-f]{64}$/);
    assert.equal(await digestEntries([...entries()].reverse()), d, 'order of the plan does not matter');
    const touched = entries().map((e) => ({ ...e, mtime: new Date(9e12) }));
    assert.equal(await digestEntries(touched), d, 'times do not matter');
    const change = async (f: (e: LayerEntry[]) => void) => {
      const e = entries();
      f(e);
      return digestEntries(e);
    };
    const variants = await Promise.all([
      change((e) => (e[1].content = Buffer.from('hellO'))),
      change((e) => (e[1].mode = 0o755)),
      change((e) => (e[1].uid = 1000)),
      change((e) => (e[1].gid = 1000)),
      change((e) => (e[1].path = 'app/b.txt')),
      change((e) => (e[2].linkname = 'b.txt')),
      change((e) => (e[2].type = 'hardlink')),
      change((e) => e.pop()),
      change((e) => (e[1].xattrs = { 'user.x': '1' })),
    ]);
    assert.equal(new Set([d, ...variants]).size, variants.length + 1);
  });

  it('hashes source files by content, streaming, the same as inline content', async () => {
    const dir = tmpDir('drydock-cache-key-');
    const src = path.join(dir, 'a.txt');
    fs.writeFileSync(src, 'hello');
    const fromFile = entries();
    fromFile[1] = { ...fromFile[1], content: undefined, source: src };
    assert.equal(await digestEntries(fromFile), await digestEntries(entries()));
    fs.writeFileSync(src, 'other');
    assert.notEqual(await digestEntries(fromFile), await digestEntries(entries()));
    fs.rmSync(src);
    await assert.rejects(digestEntries(fromFile), /cannot read .*a\.txt \(source of \/app\/a\.txt\)/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('build/cache StepCache', () => {
  const parse = (df: string) => parseDockerfile(`FROM scratch\n${df}\n`, 'Dockerfile').stages[0].instructions[0];
  const state = (env: string[], args: Array<[string, string]>) => {
    const image = emptyImage({ os: 'linux', architecture: 'amd64' });
    image.config.config = { Env: env };
    return { image, args: { entries: () => args }, env: { compression: 'gzip' } };
  };

  it('keys a step by parent, text, args, env, sources and flags', () => {
    const sc = new StepCache(null, defaultBuildOptions());
    const run = parse('RUN make');
    const k = sc.keyFor('p', run, state(['A=1'], [['V', '1']]));
    assert.equal(sc.keyFor('p', run, state(['A=1'], [['V', '1']])), k);
    assert.notEqual(sc.keyFor('q', run, state(['A=1'], [['V', '1']])), k);
    assert.notEqual(sc.keyFor('p', run, state(['A=2'], [['V', '1']])), k);
    assert.notEqual(sc.keyFor('p', run, state(['A=1'], [['V', '2']])), k);
    assert.notEqual(sc.keyFor('p', parse('RUN make all'), state(['A=1'], [['V', '1']])), k);
    assert.notEqual(sc.keyFor('p', run, state(['A=1'], [['V', '1']]), { sources: 'x' }), k);
    const repro = new StepCache(null, { ...defaultBuildOptions(), reproducible: true });
    assert.notEqual(repro.keyFor('p', run, state(['A=1'], [['V', '1']])), k);
  });

  it('keys a step by the compression its layers get, --compression auto resolved', () => {
    const run = parse('RUN make');
    const auto = { ...defaultBuildOptions(), compression: 'auto' as const };
    const sc = new StepCache(null, auto);
    const withCompression = (compression: string) => sc.keyFor('p', run, { ...state([], []), env: { compression } });
    assert.notEqual(withCompression('gzip'), withCompression('none'));
    const gzip = { ...defaultBuildOptions(), compression: 'gzip' as const };
    const explicit = new StepCache(null, gzip);
    assert.equal(explicit.keyFor('p', run, { ...state([], []), env: { compression: 'gzip' } }), withCompression('gzip'), 'auto resolved to gzip is gzip');
  });

  it('keys a step by the paths snapshots ignore (--ignore-path, --ignore-var-run), as a set', () => {
    const run = parse('RUN make');
    const s = state([], []);
    const keyWith = (ignorePaths: string[]) => new StepCache(null, { ...defaultBuildOptions(), ignorePaths }).keyFor('p', run, s);
    const varRun = keyWith(['/var/run']);
    assert.notEqual(keyWith([]), varRun, '--ignore-var-run=false');
    assert.notEqual(keyWith(['/var/run', '/opt/x']), varRun, '--ignore-path');
    assert.equal(keyWith(['/opt/x', '/var/run']), keyWith(['/var/run/', '/opt/x', '/opt/./x']), 'order, duplicates and spelling do not matter');
  });

  it('covers RUN and COPY layers as the flags say, nothing without a cache', () => {
    const fake = { description: 'x', get: async () => undefined, put: async () => undefined };
    const o = defaultBuildOptions();
    assert.equal(new StepCache(null, o).covers('run'), false);
    assert.equal(new StepCache(fake, o).covers('run'), true);
    assert.equal(new StepCache(fake, o).covers('copy'), false);
    assert.equal(new StepCache(fake, { ...o, cacheCopyLayers: true, cacheRunLayers: false }).covers('add'), true);
    assert.equal(new StepCache(fake, { ...o, cacheCopyLayers: true, cacheRunLayers: false }).covers('run'), false);
  });

  it('turns a failing cache into a miss and a failing store into a warning', async () => {
    const broken = { description: 'broken cache', get: async () => { throw new Error('boom'); }, put: async () => { throw new Error('boom'); } };
    const sc = new StepCache(broken, defaultBuildOptions());
    assert.equal(await sc.lookup('k', 'Dockerfile:2'), undefined);
    assert.equal(sc.misses, 1);
    const layer = { descriptor: { mediaType: 'x', digest: 'sha256:' + 'a'.repeat(64), size: 1 }, diffId: 'sha256:' + 'a'.repeat(64), open: async () => { throw new Error('no'); } };
    sc.store('k', layer as never, { history: {} }, 'Dockerfile:2');
    await sc.flush();
  });
});
