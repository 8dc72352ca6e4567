// Where does our executor spend a benchmark scenario's time? Builds the scenario's context
// (test/bench/compare.ts), runs the executor once under `node --cpu-prof`, and prints the
// build log's step times and the functions with the most self time (plus wall time per phase).
//
//   node dist/test/bench/profile.js SCENARIO [extra executor flags...]
// env: BENCH_SCRATCH (/tmp/bench-scratch)  PROFILE_TOP (25)  BENCH_OURS_AS=container (CAP_SYS_ADMIN dropped)
//      PROFILE_STRACE=1: instead, a timeline of the processes the build starts and the mounts it
//      makes (strace -f), in ms from the executor's start
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCENARIOS } from './compare';
import { pushBaseImages, REPO_ROOT, startRegistry, stopAll } from '../support/testbed';
import { removeRunTmp } from '../support/run-tmp';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

/** Self time (ms) per function, from a .cpuprofile (sample counts weighted by the time deltas). */
export function selfTimes(p: Profile): Array<{ name: string; ms: number }> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i])!;
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(`file://${REPO_ROOT}/`, '').replace(/^node:/, 'node:')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    ms.set(key, (ms.get(key) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  return [...ms.entries()].map(([name, v]) => ({ name, ms: v })).sort((a, b) => b.ms - a.ms);
}

const frameName = (n: ProfileNode) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(`file://${REPO_ROOT}/`, '')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

/**
 * Time (ms) under each of our own functions (dist/src) that calls out of our code: the first
 * frame of dist/src above each sample, so module loading, zlib and child processes are charged
 * to whoever asked for them.
 */
export function timeByOurCaller(p: Profile): Array<{ name: string; ms: number }> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ms = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    let id: number | undefined = p.samples[i];
    let key = '(not under dist/src: startup, module loading, idle)';
    while (id !== undefined) {
      const n = byId.get(id)!;
      if (n.callFrame.url.includes('/dist/src/')) { key = frameName(n); break; }
      id = parent.get(id);
    }
    ms.set(key, (ms.get(key) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  return [...ms.entries()].map(([name, v]) => ({ name, ms: v })).sort((a, b) => b.ms - a.ms);
}

/** Which processes the build started and which mounts it made, when: strace's view of one build. */
function straceTimeline(work: string, args: string[], scratch: string): void {
  const out = path.join(work, 'strace.txt');
  const r = spawnSync('strace', ['-f', '-ttt', '-s', '80', '-e', 'trace=execve,mount,umount2,exit_group', '-o', out, process.execPath, ...args],
    { encoding: 'utf8', env: { ...process.env, TMPDIR: path.join(scratch, 'tmp') }, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`build failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const t0 = Number(lines[0].split(/\s+/)[1]);
  for (const l of lines) {
    const [pid, t, ...rest] = l.split(/\s+/);
    const call = rest.join(' ');
    if (/^(execve|mount|umount2|exit_group)\(/.test(call) && !/ENOENT/.test(call)) {
      console.log(`${((Number(t) - t0) * 1000).toFixed(1).padStart(8)} ms  ${pid.padStart(7)}  ${call.slice(0, 150)}`);
    }
  }
}

async function main(): Promise<void> {
  const [name, ...extra] = process.argv.slice(2);
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario "${name}": one of ${SCENARIOS.map((x) => x.name).join(', ')}`);
  const scratch = path.resolve(process.env.BENCH_SCRATCH ?? '/tmp/bench-scratch');
  const work = path.join(scratch, `profile-${name}`);
  fs.rmSync(work, { recursive: true, force: true });
  const ctx = path.join(work, 'ctx');
  fs.mkdirSync(ctx, { recursive: true });
  fs.mkdirSync(path.join(scratch, 'tmp'), { recursive: true });
  const reg = await startRegistry('plain');
  try {
    await pushBaseImages(reg);
    if (name === 'debian') await pushBaseImages(reg, 'debian');
    s.setup(ctx, reg);
    s.beforeEach?.(ctx, 0);
    const profDir = path.join(work, 'prof');
    // as bin/launch starts it: from the startup snapshot when `npm run build` made one
    const blob = path.join(REPO_ROOT, 'dist/snapshot/drydock.blob');
    const snapshot = fs.existsSync(blob) && !process.env.DRYDOCK_NO_SNAPSHOT ? ['--snapshot-blob', blob] : [];
    const args = [...snapshot, '--cpu-prof', '--cpu-prof-dir', profDir, path.join(REPO_ROOT, 'dist/src/cli/start.js'), 'executor', '-c', ctx, '--no-push',
      '--oci-layout-path', path.join(work, 'oci'), '--verbosity', 'debug', '--log-timestamp', ...(s.oursFlags?.(work) ?? []), ...extra];
    if (process.env.PROFILE_STRACE) return straceTimeline(work, args.filter((a, i) => !/^--cpu-prof/.test(a) && !/^--cpu-prof/.test(args[i - 1] ?? '')), scratch);
    const t0 = Date.now();
    // BENCH_OURS_AS=container: as in an ordinary container (CAP_SYS_ADMIN dropped), as compare.ts runs it
    const asContainer = process.env.BENCH_OURS_AS === 'container' ? ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--'] : [];
    const [cmd, ...argv] = [...asContainer, process.execPath, ...args];
    const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, TMPDIR: path.join(scratch, 'tmp') }, maxBuffer: 256 * 1024 * 1024 });
    const wall = (Date.now() - t0) / 1000;
    fs.writeFileSync(path.join(work, 'build.log'), r.stdout + r.stderr);
    if (r.status !== 0) throw new Error(`build failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
    console.log(`${name}: wall ${wall.toFixed(2)}s (log: ${path.join(work, 'build.log')})`);
    console.log((r.stdout + r.stderr).split('\n').filter((l) => /time per step|^(\S+Z)?\s+[\d.]+s\s|unpacked|resolved| in [\d.]+ ?m?s/.test(l)).join('\n'));
    for (const f of fs.readdirSync(profDir)) {
      const p: Profile = JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8'));
      const total = (p.endTime - p.startTime) / 1000;
      console.log(`\n${f}: profiled ${total.toFixed(0)} ms of the main thread; top self time:`);
      for (const t of selfTimes(p).slice(0, Number(process.env.PROFILE_TOP ?? 25))) console.log(`  ${t.ms.toFixed(0).padStart(7)} ms  ${t.name}`);
      console.log('time by the innermost function of ours (dist/src) on the stack:');
      for (const t of timeByOurCaller(p).slice(0, Number(process.env.PROFILE_TOP ?? 25))) console.log(`  ${t.ms.toFixed(0).padStart(7)} ms  ${t.name}`);
    }
  } finally {
    await stopAll();
    removeRunTmp();
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
