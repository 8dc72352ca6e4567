// Extended attributes that layer entries carry are set on what extraction made (setfattr, once
// per layer), byte for byte: tar-stream's own PAX decoding would have turned binary values into
// UTF-8 replacement characters.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { which } from '../../../src/build/isolation/host-tools';
import { extractLayer } from '../../../src/fs/extract';
import { startTapExtraction, failedWithExtraction, layerWeight } from '../../../src/fs/extract-worker';
import { writeLayer } from '../../../src/fs/layer-writer';
import { decodePax, xattrsOfPax } from '../../../src/fs/tar-pax';
import type { LayerEntry } from '../../../src/fs/types';
import { readXattrs, writeXattrs } from '../../../src/fs/xattrs';
import { tmpDir } from '../../support/testbed';

const T = new Date(Date.UTC(2024, 0, 2));
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep
const BINARY = Buffer.from([0xff, 0x00, 0x80, 0xc3, 0x28, 0x0a]); // not UTF-8, with a NUL and a newline

function e(p: string, type: LayerEntry['type'], extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T, ...extra };
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

describe('fs extraction of extended attributes', function () {
  this.timeout(30000);
  const setfattr = which('setfattr');
  const getfattr = which('getfattr');

  it('decodes PAX records with xattr values as bytes and everything else as UTF-8', () => {
    const pax = decodePax(Buffer.concat([
      paxRecord('path', Buffer.from('dir/ünïcode')),
      paxRecord('SCHILY.xattr.security.capability', CAP),
      paxRecord('SCHILY.xattr.user.bin', BINARY),
      paxRecord('SCHILY.xattr.trusted.overlay.opaque', Buffer.from('y')),
      paxRecord('mtime', Buffer.from('1.5')),
    ]));
    assert.equal(pax.path, 'dir/ünïcode');
    assert.equal(pax.mtime, '1.5');
    assert.deepEqual(xattrsOfPax(pax), { 'security.capability': CAP, 'user.bin': BINARY });
    assert.equal(xattrsOfPax({ path: 'x' }), undefined);
  });

  for (const inWorker of [false, true]) {
    it(`sets them after ownership and mode, on files and directories (${inWorker ? 'worker' : 'this thread'})`, async () => {
      assert.ok(setfattr && getfattr, 'setfattr and getfattr (package attr) are installed by test/support/install-deps.sh');
      const dir = tmpDir();
      const root = path.join(dir, 'root');
      fs.mkdirSync(root);
      const entries = [
        e('bin', 'dir', { xattrs: { 'user.dir': Buffer.from('d') } }),
        // owned by someone else: the chown that gives it away would clear a capability set before
        e('bin/pingish', 'file', { content: Buffer.from('#!/bin/true\n'), mode: 0o755, uid: 1000, gid: 1000, xattrs: { 'security.capability': CAP, 'user.bin': BINARY } }),
        e('bin/plain', 'file', { content: Buffer.from('x') }),
        // Linux refuses user.* on a symlink: a warning, not a failed layer
        e('bin/link', 'symlink', { linkname: 'pingish', xattrs: { 'user.l': Buffer.from('l') } }),
      ];
      const layer = path.join(dir, 'l.tar');
      const x = startTapExtraction(root, { setfattr }, layerWeight(entries), inWorker);
      await writeLayer(entries, layer, { compression: 'none', tap: x.tap }).catch(failedWithExtraction(x));
      assert.equal((await x.done).xattrPaths, 3, 'the result counts the paths that carried attributes');
      const got = readXattrs(getfattr, ['bin', 'bin/pingish', 'bin/plain', 'bin/link'].map((p) => path.join(root, p)));
      assert.deepEqual(got.get(path.join(root, 'bin/pingish')), { 'security.capability': CAP, 'user.bin': BINARY });
      assert.deepEqual(got.get(path.join(root, 'bin')), { 'user.dir': Buffer.from('d') });
      assert.equal(got.has(path.join(root, 'bin/plain')), false);
      assert.equal(fs.statSync(path.join(root, 'bin/pingish')).uid, 1000);

      // the same layer read back from its file
      const again = path.join(dir, 'again');
      fs.mkdirSync(again);
      assert.equal((await extractLayer(fs.createReadStream(layer), again, { setfattr })).xattrPaths, 3);
      const plainDir = path.join(dir, 'plain');
      fs.mkdirSync(plainDir);
      const plainLayer = path.join(dir, 'plain.tar');
      await writeLayer([e('f', 'file', { content: Buffer.from('x') })], plainLayer, { compression: 'none' });
      assert.equal((await extractLayer(fs.createReadStream(plainLayer), plainDir, { setfattr })).xattrPaths, 0);
      assert.deepEqual(readXattrs(getfattr, [path.join(again, 'bin/pingish')]).get(path.join(again, 'bin/pingish')), { 'security.capability': CAP, 'user.bin': BINARY });
    });
  }

  it('without setfattr the layer still applies (the attributes are left out)', async () => {
    const dir = tmpDir();
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    const layer = path.join(dir, 'l.tar');
    await writeLayer([e('f', 'file', { content: Buffer.from('x'), xattrs: { 'user.a': Buffer.from('1') } })], layer, { compression: 'none' });
    await extractLayer(fs.createReadStream(layer), root, {});
    assert.equal(fs.readFileSync(path.join(root, 'f'), 'utf8'), 'x');
    assert.equal(readXattrs(getfattr!, [path.join(root, 'f')]).size, 0);
  });

  it('writeXattrs quotes paths and names as getfattr does, and reports what Linux refused', () => {
    const dir = tmpDir();
    const odd = path.join(dir, 'a\\b\nc ü=');
    fs.writeFileSync(odd, 'x');
    fs.symlinkSync('x', path.join(dir, 'link'));
    const problems = writeXattrs(setfattr!, new Map([[odd, { 'user.k': BINARY }], [path.join(dir, 'link'), { 'user.k': Buffer.from('v') }]]));
    assert.deepEqual(readXattrs(getfattr!, [odd]).get(odd), { 'user.k': BINARY });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /link: Operation not permitted/);
  });
});
