// Differential test: every Dockerfile of the corpus (images/corpus/*, images/hello) is built by our
// executor and by `buildah bud --isolation chroot`; umoci unpacks both images, and the file trees
// (type, mode, owner, content, link target, hardlink groups) and the configs must be the same.
// One registry and one buildah storage serve every case; the two builds of a case run in parallel.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runExecutor, umociUnpack } from '../../support/executor';
import { diffConfigs, diffTrees, pickConfig, readLayoutImageConfig, readTree, type TreeEntry } from '../../support/differential';
import { pushBaseImages, REPO_ROOT, run, startRegistry, SUPPORT, tmpDir, type Registry } from '../../support/testbed';

interface Case {
  name: string;
  /** context directory, relative to the repository */
  dir: string;
  /** Dockerfile for buildah when it lacks a feature (same steps, other syntax) */
  buildahDockerfile?: string;
  buildArgs?: Record<string, string>;
  /** flags both builders take alike (e.g. --secret id=…,src=…), with CTX standing for the copied context */
  flags?: string[];
  /** add what git cannot hold (empty directories, archives with foreign owners) to the copied context */
  prepare?: (ctx: string) => void;
  /**
   * Where buildah 1.28 departs from Docker's documented behaviour: the config values Docker
   * gives, put in place of buildah's before comparing (each with the documentation that says so).
   */
  buildahDeviations?: { config: Record<string, unknown>; why: string };
  /** empty directories buildah 1.28 leaves behind where Docker leaves nothing (ignored only when ours has no such path) */
  buildahLeftovers?: { dirs: string[]; why: string };
}

/**
 * Every case is built by ours twice: as here (root on a host: mount namespaces, overlay snapshots)
 * and as in an ordinary container whose seccomp profile allows a user namespace (CAP_SYS_ADMIN
 * dropped: the step's namespaces belong to one; stat-walk snapshots).
 */
const AS_IN_A_CONTAINER = ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--'];

const CASES: Case[] = [
  {
    name: 'metadata', dir: 'images/corpus/metadata',
    buildahDeviations: {
      config: { Cmd: ['/bin/sh', '-ec', 'echo "hello $PLAIN"'] },
      why: 'Dockerfile reference, SHELL: "The following instructions can be affected by the SHELL instruction when the shell form '
        + 'of them is used in a Dockerfile: RUN, CMD and ENTRYPOINT." buildah 1.28 wraps shell-form CMD in /bin/sh -c regardless.',
    },
  },
  {
    name: 'copy', dir: 'images/corpus/copy',
    prepare: (ctx) => {
      fs.mkdirSync(path.join(ctx, 'empty'));
      // entries named, not ".": how a "./" entry's owner applies to an existing destination is not documented
      const names = fs.readdirSync(path.join(ctx, 'files')).sort();
      const tarArgs = ['--owner=1000', '--group=2000', '--numeric-owner', '-C', path.join(ctx, 'files'), ...names];
      run('tar', ['-cf', path.join(ctx, 'archive.tar'), ...tarArgs]);
      run('tar', ['-czf', path.join(ctx, 'archive.tar.gz'), ...tarArgs]);
      run('tar', ['-cjf', path.join(ctx, 'archive.tar.bz2'), ...tarArgs]);
      run('tar', ['-cJf', path.join(ctx, 'archive.tar.xz'), ...tarArgs]);
      run('tar', ['--zstd', '-cf', path.join(ctx, 'archive.tar.zst'), ...tarArgs]);
      // compressed, but no tar inside: copied as they are
      fs.writeFileSync(path.join(ctx, 'notes'), 'not an archive\n');
      run('gzip', ['-k', '-n', path.join(ctx, 'notes')]);
      run('bzip2', ['-k', path.join(ctx, 'notes')]);
      fs.rmSync(path.join(ctx, 'notes'));
    },
  },
  { name: 'run', dir: 'images/corpus/run', buildArgs: { BUILD_ARG: 'from-cli' } },
  // buildah 1.28 has no heredocs: it builds the same steps written without them
  { name: 'heredoc', dir: 'images/corpus/heredoc', buildahDockerfile: 'Dockerfile.buildah' },
  { name: 'multistage', dir: 'images/corpus/multistage' },
  {
    name: 'run-mounts', dir: 'images/corpus/run-mounts', flags: ['--secret', 'id=token,src=CTX/../token'],
    prepare: (ctx) => fs.writeFileSync(path.join(ctx, '..', 'token'), 's3cr3t-value\n'),
    buildahLeftovers: {
      dirs: ['/mnt', '/run', '/run/secrets', '/var/cache'],
      why: 'BuildKit removes the mount targets (and parents) it had to create (moby/buildkit#3307); buildah leaves them '
        + 'until containers/buildah#6233 (2025)',
    },
  },
  { name: 'debian', dir: 'images/corpus/debian' },
  { name: 'hello', dir: 'images/hello' },
  { name: 'copy-symlink-source', dir: 'images/corpus/copy-symlink-source' },
  { name: 'copy-chmod-dir', dir: 'images/corpus/copy-chmod-dir' },
  { name: 'copy-through-links', dir: 'images/corpus/copy-through-links' },
];

/**
 * buildah (chroot isolation) bind-mounts these over files it creates in the root for each RUN and
 * leaves the empty mount points in the layer; Docker and BuildKit do not (and our executor must
 * not: resolv.conf and hosts "never left in a layer"). Ignored only when buildah alone has them.
 */
const BUILDAH_MOUNT_POINTS = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/run', '/run/.containerenv']);
const benign = (p: string, ours: TreeEntry | undefined, theirs: TreeEntry | undefined) => !ours && !!theirs && BUILDAH_MOUNT_POINTS.has(p);

/** buildah stamps its version as a label on every image it builds. */
function withoutBuildahLabel(config: Record<string, any>): Record<string, any> {
  const labels = { ...(config.Labels ?? {}) };
  delete labels['io.buildah.version'];
  return { ...config, Labels: labels };
}

function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${err.slice(-4000)}`))));
  });
}

describe('differential: our executor and buildah build the same images', function () {
  this.timeout(180000);
  let reg: Registry;
  let buildahEnv: NodeJS.ProcessEnv;

  before(async function () {
    this.timeout(600000); // the first run ever debootstraps the Debian base (cached afterwards)
    reg = await startRegistry('plain');
    await pushBaseImages(reg);
    await pushBaseImages(reg, 'debian');
    // private containers/* configs and storage, shared by every case of this run
    const tb = tmpDir('drydock-buildah-');
    const exports = run('bash', [path.join(SUPPORT, 'containers-env.sh')], { env: { ...process.env, TESTBED_DIR: tb } });
    buildahEnv = { ...process.env };
    for (const m of exports.matchAll(/^export (\w+)=(.*)$/gm)) buildahEnv[m[1]] = m[2];
    fs.writeFileSync(buildahEnv.CONTAINERS_REGISTRIES_CONF!,
      `unqualified-search-registries = []\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
  });

  const buildArgs = (c: Case, ctx: string, extra: Record<string, string>) => [
    ...Object.entries({ REGISTRY: reg.host, ...c.buildArgs, ...extra }).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...(c.flags ?? []).map((f) => f.replace('CTX', ctx)),
  ];

  function copyContext(c: Case): string {
    const ctx = path.join(tmpDir('drydock-diffctx-'), 'ctx');
    fs.cpSync(path.join(REPO_ROOT, c.dir), ctx, { recursive: true, verbatimSymlinks: true });
    c.prepare?.(ctx);
    return ctx;
  }

  /** Build with ours into an OCI layout; push to `dest` too when given. Returns the layout and its tag. */
  async function buildOurs(c: Case, ctx: string, extra: Record<string, string> = {}, dest?: string, under?: string[]): Promise<{ layout: string; tag: string }> {
    const layout = tmpDir('drydock-diff-ours-');
    const r = await runExecutor(['-c', ctx, ...buildArgs(c, ctx, extra), '--oci-layout-path', layout, ...(dest ? ['-d', dest] : ['--no-push'])], { under });
    assert.equal(r.code, 0, `our executor failed on ${c.dir}${under ? ' (as in a container)' : ''}:\n${r.stderr.slice(-4000)}`);
    const hasRun = /^RUN /m.test(fs.readFileSync(path.join(ctx, 'Dockerfile'), 'utf8'));
    if (under && hasRun) assert.match(r.stderr, /RUN isolation: chroot \(mount namespace: yes, in a user namespace,/);
    // the layout is tagged with the destination's tag, "latest" without one
    return { layout, tag: dest ? dest.slice(dest.lastIndexOf(':') + 1) : 'latest' };
  }

  /** Build with buildah; returns the OCI layout it was pushed to and its Docker-format config. */
  async function buildBuildah(c: Case, ctx: string, extra: Record<string, string> = {}, dest?: string): Promise<{ layout: string; config: any }> {
    const image = `localhost/drydock-diff/${c.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}:latest`;
    // --format docker: the OCI format would drop HEALTHCHECK, SHELL, ONBUILD and STOPSIGNAL-free fields buildah only keeps for Docker
    const bud = () => runAsync('buildah', ['bud', '--isolation', 'chroot', '--format', 'docker', '--quiet', ...buildArgs(c, ctx, extra),
      '-f', path.join(ctx, c.buildahDockerfile ?? 'Dockerfile'), '-t', image, ctx], buildahEnv);
    await bud().catch((e: Error) => {
      // buildah's chroot runner re-runs itself from a sealed memfd copy, and sealing now and then
      // fails with EBUSY (seen in CI): a race of buildah's, not the build's. Once more then.
      if (/sealing memfd copy: Device or resource busy/.test(e.message)) return bud();
      throw e;
    });
    const layout = path.join(tmpDir('drydock-diff-buildah-'), 'oci');
    await runAsync('buildah', ['push', '--quiet', image, `oci:${layout}:latest`], buildahEnv);
    if (dest) await runAsync('buildah', ['push', '--quiet', '--tls-verify=false', image, `docker://${dest}`], buildahEnv);
    // the OCI config that `push oci:` writes has no Healthcheck/Shell/OnBuild: read buildah's Docker config
    const inspected = JSON.parse(await runAsync('buildah', ['inspect', '--type', 'image', image], buildahEnv));
    return { layout, config: inspected.Docker.config };
  }

  function compare(c: Case, oursImage: { layout: string; tag: string }, theirs: { layout: string; config: any }): void {
    const ours = umociUnpack(oursImage.layout, oursImage.tag);
    const buildah = umociUnpack(theirs.layout, 'latest');
    const leftovers = new Set(c.buildahLeftovers?.dirs);
    const treeDiff = diffTrees(readTree(ours.rootfs), readTree(buildah.rootfs),
      (p, a, b) => benign(p, a, b) || (!a && b?.type === 'dir' && leftovers.has(p)));
    const configDiff = diffConfigs(
      pickConfig(readLayoutImageConfig(oursImage.layout, oursImage.tag).config),
      pickConfig({ ...withoutBuildahLabel(theirs.config ?? {}), ...c.buildahDeviations?.config }),
    );
    const all = [...treeDiff, ...configDiff];
    assert.deepEqual(all, [], `${c.dir}: ${all.length} difference(s), ours vs buildah:\n  ${all.join('\n  ')}`);
  }

  // DRYDOCK_DIFF_DIRS=dir,dir (relative to the repository) compares those contexts too, e.g. the
  // known differences above, to check a fix
  const extra = (process.env.DRYDOCK_DIFF_DIRS ?? '').split(',').filter(Boolean).map((dir): Case => ({ name: dir, dir }));
  for (const c of [...CASES, ...extra]) {
    it(`${c.name} (ours also as in a container, in a user namespace)`, async () => {
      const ctx = copyContext(c);
      const [ours, inContainer, theirs] = await Promise.all([
        buildOurs(c, ctx), buildOurs(c, ctx, {}, undefined, AS_IN_A_CONTAINER), buildBuildah(c, ctx),
      ]);
      compare(c, ours, theirs);
      compare(c, inContainer, theirs);
    });
  }

  it('onbuild (parent with triggers, then a child of each builder\'s own parent)', async () => {
    const parent: Case = { name: 'onbuild-parent', dir: 'images/corpus/onbuild/parent' };
    const child: Case = { name: 'onbuild-child', dir: 'images/corpus/onbuild/child' };
    const parentCtx = copyContext(parent);
    const oursRef = `${reg.host}/drydock-diff/onbuild-parent:ours`;
    const buildahRef = `${reg.host}/drydock-diff/onbuild-parent:buildah`;
    const [oursParent, buildahParent] = await Promise.all([
      buildOurs(parent, parentCtx, {}, oursRef),
      buildBuildah(parent, parentCtx, {}, buildahRef),
    ]);
    compare(parent, oursParent, buildahParent);
    const childCtx = copyContext(child);
    const [oursChild, buildahChild] = await Promise.all([
      buildOurs(child, childCtx, { PARENT: oursRef }),
      buildBuildah(child, childCtx, { PARENT: buildahRef }),
    ]);
    compare(child, oursChild, buildahChild);
  });
});
