// Benchmark: our executor against `buildah bud --isolation chroot` on the same contexts, in the
// same run, alternating the two. Prints a Markdown table of medians (wall time and peak RSS, as
// GNU time measures them) and the ratio ours/buildah. Not part of `npm test`: run test/bench/run.sh.
//
// env: BENCH_RUNS (5)  BENCH_SCRATCH (/tmp/bench-scratch: put it on journaled ext4, see run.sh)
//      BENCH_ONLY (comma-separated scenario names)  BENCH_KEEP=1 (keep contexts and logs)
//      BENCH_OURS_AS=container: ours runs as in an ordinary container (CAP_SYS_ADMIN dropped, so
//      no overlay: the stat walk; RUN in a user namespace, or with DRYDOCK_NO_USERNS=1 in none)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pushBaseImages, REPO_ROOT, run, startRegistry, stopAll, SUPPORT, type Registry } from '../support/testbed';
import { removeRunTmp } from '../support/run-tmp';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const SCRATCH = path.resolve(process.env.BENCH_SCRATCH ?? '/tmp/bench-scratch');
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const AS_CONTAINER = process.env.BENCH_OURS_AS === 'container';
/** how ours is started: directly, or through setpriv without CAP_SYS_ADMIN */
const OURS = AS_CONTAINER
  ? ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--', path.join(REPO_ROOT, 'bin/executor')]
  : [path.join(REPO_ROOT, 'bin/executor')];

interface Measure { seconds: number; rssMb: number }

export interface Scenario {
  name: string;
  title: string;
  /** target for the ratio of medians ours/buildah, and for our peak RSS */
  target?: { ratio: number; rssMb?: number };
  /** write the context (with its Dockerfile) into `ctx` */
  setup(ctx: string, reg: Registry): void;
  /** before each measured (and warm-up) build, untimed: e.g. change one source file */
  beforeEach?(ctx: string, i: number): void;
  oursFlags?: (work: string) => string[];
  buildahFlags?: string[];
  /**
   * The cached rebuild keeps buildah's storage (its layer cache) between runs. Every other scenario
   * measures buildah twice per run: "cold", from empty storage, pulling the base like ours does
   * (an ephemeral CI agent), which is the ratio's reference; and "warm", with the base already
   * unpacked in its storage (a long-lived build host), shown beside it.
   */
  keepBuildahImages?: boolean;
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
}

/** `count` small files under dir/name, 100 per subdirectory. */
function manySmallFiles(dir: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.txt`), `file ${i}\n`);
  }
}

const busybox = (reg: Registry) => `${reg.host}/library/busybox:latest`;

export const SCENARIOS: Scenario[] = [
  {
    name: 'tiny', title: 'tiny (busybox, COPY + RUN)', target: { ratio: 0.2 },
    setup: (ctx, reg) => writeFiles(ctx, { Dockerfile: `FROM ${busybox(reg)}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copy.txt\n`, 'hello.txt': 'hello\n' }),
  },
  {
    name: 'many-files', title: '20,000 small files, then a RUN touching one', target: { ratio: 0.3 },
    setup: (ctx, reg) => {
      writeFiles(ctx, { Dockerfile: `FROM ${busybox(reg)}\nCOPY files /data/\nRUN touch /data/d7/f777.txt\n` });
      manySmallFiles(path.join(ctx, 'files'), 20000);
    },
  },
  {
    name: 'big-file', title: 'one 200 MB file (COPY)', target: { ratio: 0.8, rssMb: 100 },
    setup: (ctx, reg) => {
      writeFiles(ctx, { Dockerfile: `FROM ${busybox(reg)}\nCOPY big.bin /big.bin\n` });
      // random data: incompressible, the worst case for a builder that compresses layers as it writes them
      run('sh', ['-c', `head -c ${200 * 1024 * 1024} /dev/urandom > ${path.join(ctx, 'big.bin')}`]);
    },
  },
  {
    name: 'two-stage', title: 'two-stage (RUN in a builder, COPY --from)', target: { ratio: 0.5 },
    setup: (ctx, reg) => writeFiles(ctx, {
      Dockerfile: [
        `FROM ${busybox(reg)} AS build`,
        'COPY src/ /src/',
        'RUN mkdir /out && for i in $(seq 1 500); do cat /src/*.txt > /out/part$i.txt; done',
        `FROM ${busybox(reg)}`,
        'COPY --from=build /out /app/',
        'CMD ["ls", "/app"]',
      ].join('\n'),
      'src/a.txt': 'a'.repeat(4096), 'src/b.txt': 'b'.repeat(4096),
    }),
  },
  {
    name: 'debian', title: 'Debian base (debootstrap), small RUN', target: { ratio: 0.7 },
    setup: (ctx, reg) => writeFiles(ctx, {
      Dockerfile: `FROM ${reg.host}/library/debian:bookworm-slim\nRUN useradd -m app && echo done > /home/app/done\n`,
    }),
  },
  {
    name: 'cached', title: 'cached rebuild after one source file changed',
    setup: (ctx, reg) => {
      writeFiles(ctx, {
        Dockerfile: [
          `FROM ${busybox(reg)}`,
          'COPY deps.txt /app/deps.txt',
          'RUN mkdir -p /app/deps && for i in $(seq 1 2000); do echo $i > /app/deps/$i; done',
          'COPY src/ /app/src/',
          'RUN cat /app/src/*/*.txt > /app/bundle.txt',
        ].join('\n'),
        'deps.txt': 'dependency list\n',
      });
      manySmallFiles(path.join(ctx, 'src'), 200);
    },
    beforeEach: (ctx, i) => fs.writeFileSync(path.join(ctx, 'src/d0/f0.txt'), `changed ${i} ${Date.now()}\n`),
    oursFlags: (work) => ['--cache', '--cache-repo', `oci:${path.join(work, 'layer-cache')}`, '--cache-copy-layers'],
    buildahFlags: ['--layers'],
    keepBuildahImages: true,
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Run a command under GNU time; throws with the log's tail when it fails. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Measure {
  const timeFile = `${logFile}.time`;
  const r = spawnSync('/usr/bin/time', ['-f', '%M %e', '-o', timeFile, cmd, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  fs.writeFileSync(logFile, `${r.stdout}\n${r.stderr}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stdout + r.stderr).slice(-3000)}`);
  const [kb, secs] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds: secs, rssMb: kb / 1024 };
}

function buildahEnv(reg: Registry): NodeJS.ProcessEnv {
  const tb = path.join(SCRATCH, 'buildah');
  fs.mkdirSync(tb, { recursive: true });
  const exports = run('bash', [path.join(SUPPORT, 'containers-env.sh')], { env: { ...process.env, TESTBED_DIR: tb } });
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: path.join(SCRATCH, 'tmp') };
  for (const m of exports.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
  fs.writeFileSync(env.CONTAINERS_REGISTRIES_CONF!, `unqualified-search-registries = []\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
  return env;
}

async function main(): Promise<void> {
  fs.mkdirSync(path.join(SCRATCH, 'tmp'), { recursive: true });
  const reg = await startRegistry('plain');
  try {
    await pushBaseImages(reg);
    const scenarios = SCENARIOS.filter((s) => ONLY.length === 0 || ONLY.includes(s.name));
    if (scenarios.some((s) => s.name === 'debian')) await pushBaseImages(reg, 'debian');
    const benv = buildahEnv(reg);
    const oenv: NodeJS.ProcessEnv = { ...process.env, TMPDIR: path.join(SCRATCH, 'tmp') };
    const rows: string[] = [];
    for (const s of scenarios) {
      const work = path.join(SCRATCH, s.name);
      fs.rmSync(work, { recursive: true, force: true });
      const ctx = path.join(work, 'ctx');
      fs.mkdirSync(ctx, { recursive: true });
      s.setup(ctx, reg);
      const image = `localhost/drydock-bench/${s.name}:latest`;
      const ours: Measure[] = [];
      const theirs: Measure[] = [];
      const warm: Measure[] = [];
      let oursError: string | undefined;
      // run 0 warms up both (buildah pulls the base into its storage, caches fill); runs 1..N count
      for (let i = 0; i <= RUNS; i++) {
        s.beforeEach?.(ctx, i);
        const out = path.join(work, 'oci');
        fs.rmSync(out, { recursive: true, force: true });
        const oursArgs = ['-c', ctx, '--no-push', '--oci-layout-path', out, ...(s.oursFlags?.(work) ?? [])];
        const buildahArgs = ['bud', '--isolation', 'chroot', ...(s.buildahFlags ?? []), '-t', image, ctx];
        // alternate who goes first, so that neither always finds a warmer page cache
        const steps: Array<() => void> = [
          () => {
            if (oursError) return;
            try {
              const m = timed(OURS[0], [...OURS.slice(1), ...oursArgs], oenv, path.join(work, `ours-${i}.log`));
              if (i > 0) ours.push(m);
            } catch (e) {
              oursError = (e as Error).message.split('\n').filter((l) => /ERROR|error/i.test(l)).slice(0, 2).join(' ') || 'failed';
              fs.writeFileSync(path.join(work, `ours-${i}.error`), (e as Error).message);
            }
          },
          () => {
            if (!s.keepBuildahImages) spawnSync('buildah', ['rmi', '--all', '-f'], { env: benv });
            const m = timed('buildah', buildahArgs, benv, path.join(work, `buildah-${i}.log`));
            if (i > 0) theirs.push(m);
            if (s.keepBuildahImages) return;
            spawnSync('buildah', ['rmi', '-f', image], { env: benv });
            const w = timed('buildah', buildahArgs, benv, path.join(work, `buildah-warm-${i}.log`));
            if (i > 0) warm.push(w);
          },
        ];
        if (i % 2) steps.reverse();
        for (const step of steps) step();
        process.stderr.write(`${s.name} run ${i}/${RUNS}: ours ${ours.at(-1)?.seconds ?? '-'}s buildah ${theirs.at(-1)?.seconds ?? '-'}s (warm ${warm.at(-1)?.seconds ?? '-'}s)\n`);
      }
      if (s.keepBuildahImages) spawnSync('buildah', ['rmi', '--all', '-f'], { env: benv });
      const bt = median(theirs.map((m) => m.seconds));
      const br = median(theirs.map((m) => m.rssMb));
      const bw = warm.length ? median(warm.map((m) => m.seconds)).toFixed(2) : '(cache kept)';
      if (oursError || ours.length === 0) {
        rows.push(`| ${s.title} | not yet available: ${oursError ?? 'no run'} | ${bt.toFixed(2)} | – | – | ${bw} | – | ${br.toFixed(0)} |`);
      } else {
        const ot = median(ours.map((m) => m.seconds));
        const or = median(ours.map((m) => m.rssMb));
        const ratio = ot / bt;
        const target = s.target ? `≤ ${s.target.ratio}${s.target.rssMb ? `, RSS ≤ ${s.target.rssMb} MB` : ''}` : '–';
        const met = s.target ? (ratio <= s.target.ratio && (!s.target.rssMb || or <= s.target.rssMb) ? ' ✓' : ' ✗') : '';
        rows.push(`| ${s.title} | ${ot.toFixed(2)} | ${bt.toFixed(2)} | ${ratio.toFixed(2)} | ${target}${met} | ${bw} | ${or.toFixed(0)} | ${br.toFixed(0)} |`);
      }
      if (!process.env.BENCH_KEEP) fs.rmSync(ctx, { recursive: true, force: true });
    }
    const how = AS_CONTAINER ? ' as in an ordinary container (CAP_SYS_ADMIN dropped: stat-walk snapshots)' : '';
    console.log(`\nMedian of ${RUNS} runs (after one warm-up run each), ours = drydock executor${how} (to an OCI layout), buildah = \`buildah bud --isolation chroot\``
      + ' (into its storage), both pulling the base from a loopback registry; "buildah warm" = base already in its storage:\n');
    console.log('| scenario | ours s | buildah s | ratio ours/buildah | target | buildah warm s | ours peak RSS MB | buildah peak RSS MB |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
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
