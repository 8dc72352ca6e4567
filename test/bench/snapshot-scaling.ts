// Does the snapshot after a RUN that touches one file cost the same in an image of 1,000 files as
// in one of 100,000? Measured two ways:
// 1. the whole RUN step of a real build (our executor, chroot isolation, the snapshotter it
//    selects), read from the build log's "time per step";
// 2. each snapshotter alone (overlay and stat walk) on a root of N files: begin(), touch one
//    file through runRoot(), finish(), timed apart from creating the root.
// env: BENCH_SCRATCH (/tmp/bench-scratch)  BENCH_SCALING_SIZES (1000,100000)  BENCH_RUNS (5)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OverlaySnapshotter, overlayUnavailableReason, StatWalkSnapshotter, type Snapshotter } from '../../src/build/snapshot';
import { pushBaseImages, REPO_ROOT, startRegistry, stopAll } from '../support/testbed';
import { removeRunTmp } from '../support/run-tmp';

const SCRATCH = path.resolve(process.env.BENCH_SCRATCH ?? '/tmp/bench-scratch');
const SIZES = (process.env.BENCH_SCALING_SIZES ?? '1000,100000').split(',').map(Number);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** `count` empty files in 1,000-file directories under root/many. */
function populate(root: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, 'many', `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}`), '');
  }
}

/** Seconds of the last RUN step of a real build whose image holds `count` files under /many. */
function buildStepSeconds(regHost: string, count: number, work: string): number[] {
  const ctx = path.join(work, `ctx-${count}`);
  fs.mkdirSync(ctx, { recursive: true });
  const dirs = Math.ceil(count / 1000);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
    `FROM ${regHost}/library/busybox:latest`,
    `RUN for d in $(seq 1 ${dirs}); do mkdir -p /many/d$d && cd /many/d$d && seq 1 ${Math.min(1000, count)} | xargs touch; done`,
    'RUN echo changed > /many/d1/1',
  ].join('\n'));
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(path.join(REPO_ROOT, 'bin/executor'), ['-c', ctx, '--no-push', '--oci-layout-path', path.join(work, `oci-${count}`)],
      { encoding: 'utf8', env: { ...process.env, TMPDIR: path.join(SCRATCH, 'tmp') }, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`build with ${count} files failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
    const m = (r.stdout + r.stderr).match(/^\s*([\d.]+)s\s+RUN echo changed/m);
    if (!m) throw new Error(`no step time for the last RUN in the build log:\n${(r.stdout + r.stderr).slice(-2000)}`);
    out.push(Number(m[1]));
    fs.rmSync(path.join(work, `oci-${count}`), { recursive: true, force: true });
  }
  return out;
}

/** Milliseconds of begin() + touching one file + finish(), per run, for one snapshotter on a prepared root. */
async function snapshotterMs(make: (root: string) => Snapshotter, root: string, count: number): Promise<{ first: number; steady: number[] }> {
  const snap = make(root);
  const t0 = performance.now();
  await snap.begin(); // the first begin() learns the root (a full walk for stat-walk)
  const first = performance.now() - t0;
  const steady: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t = performance.now();
    if (i > 0) await snap.begin();
    fs.writeFileSync(path.join(snap.runRoot(), 'many', 'd0', `f${i % count}`), `run ${i}\n`);
    const entries = await snap.finish();
    if (!entries.some((e) => e.path === `many/d0/f${i % count}`)) {
      throw new Error(`${snap.name}: the touched file is not in the snapshot (${entries.map((e) => e.path).join(', ')})`);
    }
    if (i > 0) steady.push(performance.now() - t);
  }
  return { first, steady };
}

async function main(): Promise<void> {
  const work = path.join(SCRATCH, 'scaling');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(SCRATCH, 'tmp'), { recursive: true });
  const rows: string[] = [];
  const reg = await startRegistry('plain');
  try {
    await pushBaseImages(reg);
    for (const n of SIZES) {
      const step = buildStepSeconds(reg.host, n, work);
      rows.push(`| whole RUN step in a build (chroot + selected snapshotter) | ${n.toLocaleString('en-US')} | ${(median(step) * 1000).toFixed(0)} | – |`);
    }
  } finally {
    await stopAll();
    removeRunTmp();
  }
  const overlayOk = overlayUnavailableReason(work) === null;
  for (const n of SIZES) {
    const root = path.join(work, `root-${n}`);
    populate(root, n);
    const sw = await snapshotterMs((r) => new StatWalkSnapshotter({ root: r }), root, n);
    rows.push(`| stat-walk snapshotter: begin + finish | ${n.toLocaleString('en-US')} | ${median(sw.steady).toFixed(0)} | ${sw.first.toFixed(0)} |`);
    if (overlayOk) {
      const ov = await snapshotterMs((r) => new OverlaySnapshotter({ root: r, scratch: `${r}.overlay` }), root, n);
      rows.push(`| overlay snapshotter: begin (mount) + finish | ${n.toLocaleString('en-US')} | ${median(ov.steady).toFixed(0)} | ${ov.first.toFixed(0)} |`);
    }
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(`${root}.overlay`, { recursive: true, force: true });
  }
  if (!overlayOk) rows.push(`| overlay snapshotter | – | not measured: ${overlayUnavailableReason(work)} | – |`);
  console.log(`\nSnapshot after a RUN that touches one file (median of ${RUNS} runs):\n`);
  console.log('| what | files in the image | ms | first begin() ms (learns the root) |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(r);
  if (!process.env.BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
