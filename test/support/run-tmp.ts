// One temporary directory per test (or benchmark) run, removed when the run ends: every
// os.tmpdir() of the run, ours and that of the programs it starts (the executor, registries,
// buildah), lands under it through TMPDIR. Why: tests make hundreds of contexts, layouts and
// registry stores (some of 200 MB); each had to remove its own, and those that did not, or a run
// cut short, left them in /tmp for good (68 GB had piled up on a development machine).
// Import this module before any other test support module: some take os.tmpdir() when loaded.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mountPointsFromMountinfo } from '../../src/fs/ignore';

/** The tmpdir the run was started with: for what is kept across runs (the base image cache). */
export const OUTER_TMPDIR = process.env.DRYDOCK_OUTER_TMPDIR ?? os.tmpdir();

/** This run's directory; a nested run (a test that starts mocha) uses its parent's. */
export const RUN_TMPDIR = process.env.DRYDOCK_RUN_TMPDIR ?? fs.mkdtempSync(path.join(OUTER_TMPDIR, 'drydock-run-'));
const ownsIt = process.env.DRYDOCK_RUN_TMPDIR === undefined;
process.env.DRYDOCK_OUTER_TMPDIR = OUTER_TMPDIR;
process.env.DRYDOCK_RUN_TMPDIR = RUN_TMPDIR;
process.env.TMPDIR = RUN_TMPDIR;
// also when the run's root hooks are not loaded (mocha --no-config on a few files)
process.once('exit', () => removeRunTmp());

/** Mount points at or below `dir` in this mount namespace, deepest first (from /proc/self/mountinfo). */
export function mountsBelow(dir: string, mountinfo = readMountinfo()): string[] {
  return mountPointsFromMountinfo(mountinfo)
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

function readMountinfo(): string {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Remove the run's directory (when this process made it). A mount a killed build left below it
 * (an overlay) is detached first, or rm would fail on it and keep its lower layers alive.
 */
export function removeRunTmp(): void {
  if (!ownsIt) return;
  for (const m of mountsBelow(RUN_TMPDIR)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  // a build's detached `rm` of its work dir (renamed into the run's dir first) may still be at
  // work: rmdir then finds entries that came after the listing (ENOTEMPTY), so retry for a while
  fs.rmSync(RUN_TMPDIR, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}
