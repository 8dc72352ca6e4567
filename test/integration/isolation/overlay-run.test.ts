// RUN through the chroot isolation inside the overlay snapshotter's merged root, and the claim
// that an overlay snapshot costs the same with 1,000 or 100,000 files in the image (work counted
// in lstat/readdir calls, not timed).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { canMountPrivately, selectIsolation } from '../../../src/build/isolation';
import { OverlaySnapshotter, overlayUnavailableReason, selectSnapshotter, StatWalkSnapshotter } from '../../../src/build/snapshot';
import { run, tmpDir } from '../../support/testbed';
import { makeBusyboxRoot } from './busybox-rootfs';

const overlayOk = overlayUnavailableReason(tmpDir()) === null && canMountPrivately();

function fillFiles(root: string, n: number): void {
  const perDir = 1000;
  for (let d = 0; d < n / perDir; d++) {
    const dir = path.join(root, 'data', `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir; f++) fs.writeFileSync(path.join(dir, `f${f}`), '');
  }
}

describe('overlay snapshots with the chroot isolation', function () {
  this.timeout(120000);

  if (!overlayOk) {
    it('falls back to the stat walk where overlay cannot be mounted', async () => {
      assert.equal((await selectSnapshotter({ root: makeBusyboxRoot(), isolation: 'chroot' })).snapshotter.name, 'stat-walk');
    });
    return;
  }

  it('a RUN in runRoot() becomes exactly its change, with the step files left out', async () => {
    const root = makeBusyboxRoot();
    const iso = selectIsolation('chroot');
    const snap = new OverlaySnapshotter({ root, transient: () => iso.transientPaths() });
    await snap.begin();
    const res = await iso.run({
      rootfs: snap.runRoot(), argv: ['/bin/sh', '-c', 'echo hi > /tmp/out && rm /etc/group && cat /etc/resolv.conf >/dev/null && ls /proc/self >/dev/null'],
      env: ['PATH=/bin'], uid: 0, gid: 0, workdir: '/app', network: 'default', stdout: new PassThrough(), stderr: process.stderr,
    });
    assert.equal(res.exitCode, 0);
    const got = (await snap.finish()).map((e) => `${e.type} ${e.path}`);
    assert.deepEqual(got, ['dir app', 'dir etc', 'whiteout etc/group', 'dir tmp', 'file tmp/out']);
    assert.equal(fs.readFileSync(path.join(root, 'tmp/out'), 'utf8'), 'hi\n');
    assert.equal(fs.existsSync(path.join(root, 'etc/group')), false);
    assert.equal(fs.existsSync(path.join(root, 'proc')), false);
  });

  it('touching one file costs the same work with 1,000 and 100,000 files', async () => {
    const work: Record<number, { overlay: number; statWalk: number }> = {};
    // on a tmpfs: creating 100,000 files on this disk takes a minute, and the work is counted anyway
    const base = tmpDir('drydock-scale-');
    run('mount', ['-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', base]);
    try {
      await measure(base, work);
    } finally {
      run('umount', [base]);
      fs.rmSync(base, { recursive: true, force: true });
    }
    // one lstat more at most: with other entries beside the touched file's directory, checking
    // whether that directory is opaque looks at one of them in the merged view
    assert.ok(work[100000].overlay <= work[1000].overlay + 1, JSON.stringify(work));
    assert.ok(work[1000].overlay < 20, JSON.stringify(work));
    assert.ok(work[100000].statWalk > 50 * work[1000].statWalk / 1.1, `the stat walk, for contrast, scales: ${JSON.stringify(work)}`);
  });
});

async function measure(base: string, work: Record<number, { overlay: number; statWalk: number }>): Promise<void> {
  for (const n of [1000, 100000]) {
      const root = path.join(base, String(n), 'rootfs');
      fillFiles(root, n);
      const snap = new OverlaySnapshotter({ root });
      await snap.begin();
      fs.writeFileSync(path.join(snap.runRoot(), 'data/d0/f1'), 'touched');
      const entries = await snap.finish();
      assert.deepEqual(entries.map((e) => e.path), ['data/d0/f1']);
      const walk = new StatWalkSnapshotter({ root });
      await walk.begin();
      work[n] = { overlay: snap.counters.lstat + snap.counters.readdir, statWalk: walk.counters.lstat + walk.counters.readdir };
    }
}
