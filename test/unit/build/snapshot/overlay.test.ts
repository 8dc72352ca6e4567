// The overlay snapshotter against real overlayfs (we run as root on a host here). Where overlay
// cannot be mounted the same tests prove the fallback instead.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OverlaySnapshotter, overlayUnavailableReason, selectSnapshotter } from '../../../../src/build/snapshot';
import { tmpDir } from '../../../support/testbed';
import { describeEntries, w, writeCommonTree } from './describe-entries';

function makeRoot(): string {
  const root = path.join(tmpDir('drydock-ovl-'), 'rootfs');
  writeCommonTree(root);
  w(root, 'dir2file/x');
  w(root, 'file2dir');
  fs.symlinkSync('/etc/passwd', path.join(root, 'link'));
  return root;
}

const available = overlayUnavailableReason(tmpDir()) === null;

describe('build/snapshot OverlaySnapshotter', function () {
  this.timeout(20000);

  if (!available) {
    it('falls back to the stat walk, saying why', async () => {
      const root = makeRoot();
      const { snapshotter, why } = await selectSnapshotter({ root, isolation: 'chroot' });
      assert.equal(snapshotter.name, 'stat-walk');
      assert.match(why, /overlayfs not available/);
    });
    return;
  }

  it('is chosen for chroot builds and not for --isolation=none', async () => {
    const root = makeRoot();
    assert.equal((await selectSnapshotter({ root, isolation: 'chroot' })).snapshotter.name, 'overlay');
    assert.equal((await selectSnapshotter({ root, isolation: 'none' })).snapshotter.name, 'stat-walk');
  });

  it('turns the upper directory into entries (whiteouts, opaque, hardlinks, type changes) and applies it to the root', async () => {
    const root = makeRoot();
    const s = new OverlaySnapshotter({ root, ignore: ['/ignored'], transient: () => ['/etc/resolv.conf'] });
    await s.begin();
    const m = s.runRoot();
    assert.notEqual(m, root);
    const uni = 'ünïcødé-名前-🐳';
    w(m, `new/${uni}.txt`, 'u');
    fs.writeFileSync(path.join(m, 'modify.txt'), 'after!');
    fs.chmodSync(path.join(m, 'chmod.sh'), 0o4755);
    fs.rmSync(path.join(m, 'gone'), { recursive: true });
    fs.rmSync(path.join(m, 'replaced'), { recursive: true });
    w(m, 'replaced/new1');
    fs.unlinkSync(path.join(m, 'link'));
    fs.symlinkSync('dangling/target', path.join(m, 'link'));
    fs.linkSync(path.join(m, 'keep/a.txt'), path.join(m, 'new/hard.txt'));
    fs.rmSync(path.join(m, 'dir2file'), { recursive: true });
    w(m, 'dir2file', 'file now');
    fs.unlinkSync(path.join(m, 'file2dir'));
    w(m, 'file2dir/inside');
    w(m, 'ignored/y');
    w(m, 'etc/resolv.conf', 'nameserver 1.1.1.1\n');
    const entries = await s.finish();
    assert.deepEqual(describeEntries(entries), [
      'file chmod.sh 4755',
      'whiteout dir2file',
      'file dir2file 644',
      'dir etc 755',
      'whiteout file2dir',
      'dir file2dir 755',
      'file file2dir/inside 644',
      'whiteout gone',
      'file keep/a.txt 644',
      'symlink link -> dangling/target',
      'file modify.txt 644',
      'dir new 755',
      'hardlink new/hard.txt -> keep/a.txt',
      `file new/${uni}.txt 644`,
      'opaque replaced',
      'dir replaced 755',
      'file replaced/new1 644',
    ]);
    // the root now holds the step's result, and the sources point into it
    assert.equal(fs.readFileSync(path.join(root, 'modify.txt'), 'utf8'), 'after!');
    assert.equal(entries.find((e) => e.path === 'modify.txt')!.source, path.join(root, 'modify.txt'));
    assert.deepEqual(fs.readdirSync(path.join(root, 'replaced')), ['new1']);
    assert.equal(fs.existsSync(path.join(root, 'gone')), false);
    assert.equal(fs.readlinkSync(path.join(root, 'link')), 'dangling/target');
    assert.equal(fs.statSync(path.join(root, 'new/hard.txt')).ino, fs.statSync(path.join(root, 'keep/a.txt')).ino);
    assert.equal(fs.statSync(path.join(root, 'chmod.sh')).mode & 0o7777, 0o4755);
    assert.equal(fs.readFileSync(path.join(root, 'dir2file'), 'utf8'), 'file now');
    assert.ok(fs.existsSync(path.join(root, 'file2dir/inside')));
    assert.ok(fs.existsSync(path.join(root, 'ignored/y')), 'ignored paths stay in the root, unreported');
    assert.equal(fs.existsSync(path.join(root, 'etc/resolv.conf')), false, 'transient files never reach the root');

    // the next step starts from the applied root and sees only its own change
    await s.begin();
    w(s.runRoot(), 'keep/b.txt', 'b');
    assert.deepEqual(describeEntries(await s.finish()), ['dir keep 755', 'file keep/b.txt 644']);
  });

  it('mounts volatile where the kernel has it (unmounting flushes nothing) and mounts again over the same scratch', async function () {
    const [major, minor] = os.release().split('.').map(Number);
    const root = makeRoot();
    const s = new OverlaySnapshotter({ root });
    for (let i = 0; i < 3; i++) {
      await s.begin(); // a volatile mount leaves work/incompat/volatile behind, which a reuse must clear
      const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === s.runRoot());
      w(s.runRoot(), `keep/step${i}`, String(i));
      const entries = await s.finish(); // before asserting: a failed test must not leave the mount behind
      assert.ok(line, `the merged directory ${s.runRoot()} was mounted`);
      if (major > 5 || (major === 5 && minor >= 10)) assert.match(line, /[ ,](fsync=)?volatile(,|$)/, `kernel ${os.release()} should take volatile: ${line}`);
      assert.deepEqual(describeEntries(entries), ['dir keep 755', `file keep/step${i} 644`]);
    }
  });
});
