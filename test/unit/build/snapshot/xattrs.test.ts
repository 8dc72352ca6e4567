// Extended attributes set by a RUN (file capabilities, user.*) land in the snapshot's entries,
// with both snapshotters; overlayfs' own trusted.* bookkeeping and host labels stay out.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OverlaySnapshotter, overlayUnavailableReason, StatWalkSnapshotter, type Snapshotter } from '../../../../src/build/snapshot';
import { tmpDir } from '../../../support/testbed';
import { w } from './describe-entries';

// cap_net_raw+ep, as `setcap cap_net_raw+ep` writes it (VFS_CAP_REVISION_2)
const CAP_NET_RAW = Buffer.from('0100000200200000000000000000000000000000', 'hex');

function setfattr(file: string, name: string, value: Buffer): void {
  const r = spawnSync('setfattr', ['-h', '-n', name, '-v', '0x' + value.toString('hex'), file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

const kinds: Array<[string, (root: string) => Snapshotter]> = [['stat-walk', (root) => new StatWalkSnapshotter({ root })]];
if (overlayUnavailableReason(tmpDir()) === null) kinds.push(['overlay', (root) => new OverlaySnapshotter({ root })]);

for (const [kind, make] of kinds) {
  describe(`build/snapshot extended attributes (${kind})`, function () {
    this.timeout(20000);
    it('records capabilities and user.* of new and changed files, nothing else', async () => {
      const root = path.join(tmpDir('drydock-xattr-'), 'rootfs');
      w(root, 'bin/ping', 'ping');
      w(root, 'etc/plain', 'no attributes');
      const s = make(root);
      await s.begin();
      const at = (rel: string) => path.join(kind === 'overlay' ? s.runRoot() : root, rel);
      // "the RUN": a capability on an existing binary, a new file with two attributes
      setfattr(at('bin/ping'), 'security.capability', CAP_NET_RAW);
      w(kind === 'overlay' ? s.runRoot() : root, 'opt/tool', 'tool');
      setfattr(at('opt/tool'), 'user.origin', Buffer.from('drydock test ü'));
      setfattr(at('opt/tool'), 'user.bytes', Buffer.from([0, 0xff, 0x0a, 0x5c]));
      w(kind === 'overlay' ? s.runRoot() : root, 'opt/we ird\nname', 'x');
      setfattr(at('opt/we ird\nname'), 'user.k', Buffer.from('v'));
      const entries = await s.finish();
      const byPath = new Map(entries.map((e) => [e.path, e]));
      assert.deepEqual(byPath.get('bin/ping')?.xattrs, { 'security.capability': CAP_NET_RAW });
      assert.deepEqual(byPath.get('opt/tool')?.xattrs, { 'user.bytes': Buffer.from([0, 0xff, 0x0a, 0x5c]), 'user.origin': Buffer.from('drydock test ü') });
      assert.deepEqual(byPath.get('opt/we ird\nname')?.xattrs, { 'user.k': Buffer.from('v') });
      assert.equal(byPath.get('etc/plain'), undefined);
      for (const e of entries) for (const k of Object.keys(e.xattrs ?? {})) assert.ok(!k.startsWith('trusted.'), `${e.path}: ${k}`);
      assert.ok(fs.existsSync(path.join(root, 'opt/tool')));
    });
  });
}
