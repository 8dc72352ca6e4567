// The isolation and overlay probes a build starts at once and awaits later (chooseIsolation,
// probeOverlay) must answer exactly as the blocking ones do. Their answers are kept per process,
// so each comparison runs in a fresh node that asks the non-blocking probe first.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, tmpDir } from '../../support/testbed';

function inFreshNode(script: string): any {
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const dist = (p: string) => JSON.stringify(path.join(REPO_ROOT, 'dist/src', p));

describe('non-blocking isolation and overlay probes', function () {
  this.timeout(60000);

  it('chooseIsolation chooses what selectIsolation does, with the same host tools', () => {
    for (const mode of ['chroot', 'auto']) {
      const r = inFreshNode(`
        const iso = require(${dist('build/isolation')});
        iso.chooseIsolation('${mode}').then((a) => {
          const b = iso.selectIsolation('${mode}');
          console.log(JSON.stringify({ a: a.describe(), b: b.describe(), mount: iso.canMountPrivately() }));
        });`);
      assert.equal(r.a, r.b);
      assert.match(r.a, /^chroot \(mount namespace: (yes|no), launcher: /);
      assert.equal(r.a.includes('mount namespace: yes'), r.mount);
    }
  });

  it('where we may not mount, both ask about a user namespace alike', () => {
    const r = inFreshNode(`
      const iso = require(${dist('build/isolation')});
      const { canMountInUserNamespace } = require(${dist('build/isolation/user-namespace')});
      iso.chooseIsolation('chroot', { noMount: true }).then((a) => {
        const b = iso.selectIsolation('chroot', { noMount: true });
        console.log(JSON.stringify({ a: a.describe(), b: b.describe(), userns: canMountInUserNamespace(iso.findHostTools()) }));
      });`);
    assert.equal(r.a, r.b);
    assert.equal(r.a.includes('mount namespace: yes, in a user namespace'), r.userns);
    assert.equal(r.userns, true, 'this host lets root make a user namespace and mount in it');
  });

  it('probeOverlay answers as overlayUnavailableReason, once per filesystem, and leaves no probe directory', () => {
    const a = tmpDir();
    const b = tmpDir(); // the same filesystem
    const r = inFreshNode(`
      const fs = require('node:fs');
      const snap = require(${dist('build/snapshot')});
      (async () => {
        const first = await snap.probeOverlay(${JSON.stringify(a)});
        const again = snap.probeOverlay(${JSON.stringify(b)});
        // answered from what the first probe learnt: nothing to try in b
        const left = fs.readdirSync(${JSON.stringify(b)});
        console.log(JSON.stringify({ first, second: await again, blocking: snap.overlayUnavailableReason(${JSON.stringify(b)}), left }));
      })();`);
    assert.equal(r.second, r.first);
    assert.equal(r.blocking, r.first);
    assert.deepEqual(r.left, []);
    assert.deepEqual(fs.readdirSync(a), [], 'the probe removed its directories');
    // this host can mount overlays (the build tests rely on it); elsewhere the answer says why not
    if (r.first !== null) assert.match(r.first, /overlay|mount/);
  });
});
