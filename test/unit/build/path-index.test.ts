import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { PathIndex } from '../../../src/build/path-index';
import type { LayerPaths } from '../../../src/build/stage';
import { extractLayer } from '../../../src/fs/extract';
import { tmpDir } from '../../support/testbed';

type E = { name: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string };

async function layer(entries: E[], gzip = false): Promise<Readable> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'directory' || e.type === 'symlink') pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else pack.entry({ name: e.name, type: 'file' }, 'x');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  return Readable.from([gzip ? zlib.gzipSync(buf) : buf]);
}

describe('build/path-index', () => {
  it('knows directories from tar headers, follows symlinks inside the image, applies whiteouts and opaque dirs', async () => {
    const idx = new PathIndex();
    await idx.addLayer(await layer([
      { name: 'usr/', type: 'directory' }, { name: 'usr/bin/', type: 'directory' }, { name: 'usr/bin/sh' },
      { name: 'bin', type: 'symlink', linkname: 'usr/bin' }, { name: 'abs', type: 'symlink', linkname: '/usr' },
      { name: 'up', type: 'symlink', linkname: '../../../usr' }, { name: 'etc/passwd' }, { name: 'opt/a/b/', type: 'directory' },
      { name: 'loop', type: 'symlink', linkname: 'loop' },
    ], true));
    assert.equal(idx.isDir('/usr/bin'), true);
    assert.equal(idx.isDir('/bin'), true, 'relative symlink to a directory');
    assert.equal(idx.isDir('/abs/bin'), true, 'absolute symlink resolved inside the image');
    assert.equal(idx.isDir('/up'), true, '.. stops at the image root');
    assert.equal(idx.isDir('/etc'), true, 'parents implied by a file entry');
    assert.equal(idx.isDir('/etc/passwd'), false);
    assert.equal(idx.isDir('/usr/bin/sh'), false);
    assert.equal(idx.isDir('/nope'), false);
    assert.equal(idx.isDir('/loop'), false, 'a symlink loop is no directory');
    await idx.addLayer(await layer([{ name: 'opt/a/.wh..wh..opq' }, { name: 'opt/a/c/', type: 'directory' }, { name: 'usr/.wh.bin' }]));
    assert.equal(idx.isDir('/opt/a/b'), false, 'opaque directory hides the lower content');
    assert.equal(idx.isDir('/opt/a/c'), true, 'but keeps what the same layer adds');
    assert.equal(idx.isDir('/usr/bin'), false, 'whiteout removes the directory');
    assert.equal(idx.isDir('/bin'), false, 'and links to it dangle');
  });

  it('resolves a path through the image\'s symlinks, keeping what does not exist as written', async () => {
    const idx = new PathIndex();
    await idx.addLayer(await layer([
      { name: 'usr/lib/x86_64-linux-gnu/', type: 'directory' }, { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'abs', type: 'symlink', linkname: '/usr/lib/' }, { name: 'etc/passwd' }, { name: 'loop', type: 'symlink', linkname: 'loop' },
      { name: 'flink', type: 'symlink', linkname: 'etc/passwd' },
    ]));
    assert.equal(idx.resolve('/lib/x86_64-linux-gnu/libx.so'), '/usr/lib/x86_64-linux-gnu/libx.so', 'merged-/usr: /lib is usr/lib');
    assert.equal(idx.resolve('/abs/new/dir'), '/usr/lib/new/dir', 'an absolute link restarts at the image root');
    assert.equal(idx.resolve('/lib'), '/usr/lib', 'the last component too');
    assert.equal(idx.resolve('/flink'), '/etc/passwd', 'a link to a file');
    assert.equal(idx.resolve('/etc/passwd/x'), '/etc/passwd/x', 'under a file: as written');
    assert.equal(idx.resolve('/lib/../etc/x'), '/usr/etc/x', '.. after a link climbs from where the link led');
    assert.equal(idx.resolve('/loop/x'), '/loop/x', 'links that loop: as written');
    assert.equal(idx.resolve('/'), '/');
  });

  it('takes our own layers\' entries without reading a blob', () => {
    const idx = new PathIndex();
    idx.addEntries([
      { path: 'app', type: 'dir' },
      { path: 'app/x', type: 'file' },
      { path: 'data', type: 'symlink', linkname: 'app' },
    ]);
    assert.equal(idx.isDir('/data'), true);
    idx.addEntries([{ path: 'app', type: 'whiteout' }]);
    assert.equal(idx.isDir('/app'), false);
  });

  it('answers the same from what unpacking a layer saw as from reading the layer', async () => {
    const layers: E[][] = [
      [
        { name: 'usr/', type: 'directory' }, { name: 'usr/bin/', type: 'directory' }, { name: 'usr/bin/sh' },
        { name: 'bin', type: 'symlink', linkname: 'usr/bin' }, { name: 'abs', type: 'symlink', linkname: '/usr' },
        { name: 'etc/passwd' }, { name: 'opt/a/b/', type: 'directory' },
      ],
      [{ name: 'opt/a/.wh..wh..opq' }, { name: 'opt/a/c/', type: 'directory' }, { name: 'usr/.wh.bin' }, { name: 'srv/', type: 'directory' }],
    ];
    const fromBlobs = new PathIndex();
    const fromUnpacking = new PathIndex();
    const root = tmpDir('drydock-pi-');
    for (const l of layers) {
      await fromBlobs.addLayer(await layer(l));
      const seen: LayerPaths = [];
      await extractLayer(await layer(l), root, { onEntry: (p, type, linkname) => { seen.push({ path: p, type, linkname }); } });
      fromUnpacking.addEntries(seen);
      for (const q of ['/usr', '/usr/bin', '/bin', '/abs/bin', '/etc', '/etc/passwd', '/opt/a/b', '/opt/a/c', '/srv', '/nope']) {
        assert.equal(fromUnpacking.isDir(q), fromBlobs.isDir(q), q);
      }
    }
    assert.equal(fromUnpacking.isDir('/opt/a/c'), true);
    assert.equal(fromUnpacking.isDir('/bin'), false);
  });
});
