// Our executor against a reference builder (buildah bud --isolation chroot) on COPY-only
// Dockerfiles FROM scratch: both images are unpacked with umoci and compared entry by entry
// (type, mode, owner, content, link target) and by the config fields a Dockerfile sets.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext, runExecutor, umociUnpack } from '../../support/executor';
import { SUPPORT, run, tmpDir } from '../../support/testbed';

interface Node { type: string; mode: string; owner: string; content?: string; link?: string }

function tree(rootfs: string): Record<string, Node> {
  const out: Record<string, Node> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(rootfs, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(rootfs, r);
      const st = fs.lstatSync(abs);
      const n: Node = {
        type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other',
        mode: (st.mode & 0o7777).toString(8),
        owner: `${st.uid}:${st.gid}`,
      };
      if (st.isFile()) n.content = createHash('sha256').update(fs.readFileSync(abs)).digest('hex').slice(0, 16);
      if (st.isSymbolicLink()) { n.link = fs.readlinkSync(abs); delete (n as Partial<Node>).mode; }
      out[r] = n;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

/** The config fields a Dockerfile controls; buildah's own version label left out. */
function dockerfileConfig(cfg: Record<string, any>) {
  const labels = Object.fromEntries(Object.entries(cfg.Labels ?? {}).filter(([k]) => !k.startsWith('io.buildah.')));
  return {
    Env: cfg.Env ?? null, Cmd: cfg.Cmd ?? null, Entrypoint: cfg.Entrypoint ?? null, WorkingDir: cfg.WorkingDir ?? '',
    Labels: labels, ExposedPorts: cfg.ExposedPorts ?? {}, User: cfg.User ?? '',
  };
}

describe('reference builders: executor vs buildah (COPY-only)', function () {
  this.timeout(120000);
  let env: NodeJS.ProcessEnv;
  let testbed: string;
  let seq = 0;
  const made: string[] = [];
  const scratch = (prefix: string) => { const d = tmpDir(prefix); made.push(d); return d; };

  before(function () {
    try {
      run('buildah', ['--version']);
    } catch {
      throw new Error('buildah is required for this test (apt-get install buildah)');
    }
    testbed = tmpDir('drydock-refb-');
    const exports = run('bash', [path.join(SUPPORT, 'containers-env.sh')], { env: { ...process.env, TESTBED_DIR: testbed, STORAGE_DRIVER: 'vfs' } });
    env = { ...process.env };
    for (const m of exports.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
  });
  after(() => {
    if (!env) return;
    try { run('buildah', ['rmi', '--all', '--force'], { env }); } catch { /* nothing built */ }
    for (const d of [testbed, ...made]) fs.rmSync(d, { recursive: true, force: true });
  });

  async function both(ctx: string) {
    const name = `drydock-refb-${process.pid}-${++seq}`;
    const layoutB = path.join(scratch('drydock-refb-out-'), 'buildah');
    run('buildah', ['bud', '--isolation', 'chroot', '--quiet', '-t', name, ctx], { env, cwd: ctx });
    run('buildah', ['push', '--quiet', name, `oci:${layoutB}:t`], { env });
    const ours = path.join(scratch('drydock-refb-out-'), 'ours');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', ours]);
    assert.equal(r.code, 0, r.stderr);
    const a = umociUnpack(ours, 'latest');
    const b = umociUnpack(layoutB, 't');
    made.push(path.dirname(path.dirname(a.rootfs)), path.dirname(path.dirname(b.rootfs)));
    const cfg = (layout: string, tag: string) => JSON.parse(run('skopeo', ['inspect', '--config', `oci:${layout}:${tag}`])).config ?? {};
    return {
      ours: { tree: tree(a.rootfs), config: dockerfileConfig(cfg(ours, 'latest')) },
      ref: { tree: tree(b.rootfs), config: dockerfileConfig(cfg(layoutB, 't')) },
    };
  }

  function sameAs(res: Awaited<ReturnType<typeof both>>, what: { config: boolean } = { config: true }) {
    // list every differing path first: deepEqual's diff of a large tree elides lines
    const paths = [...new Set([...Object.keys(res.ours.tree), ...Object.keys(res.ref.tree)])].sort();
    const diffs = paths
      .filter((p) => JSON.stringify(res.ours.tree[p]) !== JSON.stringify(res.ref.tree[p]))
      .map((p) => `${p}: ours ${JSON.stringify(res.ours.tree[p])} buildah ${JSON.stringify(res.ref.tree[p])}`);
    assert.deepEqual(diffs, []);
    assert.deepEqual(res.ours.tree, res.ref.tree);
    if (what.config) assert.deepEqual(res.ours.config, res.ref.config);
  }

  function ctxWithTree(dockerfile: string): string {
    const ctx = makeContext({
      Dockerfile: dockerfile,
      'a.txt': 'A\n',
      'b.txt': 'BB\n',
      'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'dir/f': { content: 'F\n', mode: 0o600 },
      'dir/sub/g': 'G\n',
      'dir/sub/deeper/h': { content: 'H\n', mode: 0o640 },
      'skip.log': 'ignored\n',
      'dir/skip.log': 'ignored\n',
    });
    // tmpDir makes 0700 roots: a copied directory's own mode differs between builders (see the report)
    fs.chmodSync(ctx, 0o755);
    fs.chmodSync(path.join(ctx, 'dir/sub'), 0o750);
    fs.symlinkSync('f', path.join(ctx, 'dir/rel-link'));
    fs.symlinkSync('/etc/passwd', path.join(ctx, 'dir/abs-link'));
    fs.writeFileSync(path.join(ctx, '.dockerignore'), '*.log\n**/*.log\n');
    made.push(ctx);
    return ctx;
  }

  it('files, renames, directories, --chown, --chmod and several sources', async () => {
    const res = await both(ctxWithTree([
      'FROM scratch',
      'COPY a.txt /one',
      'COPY run.sh /bin/',
      'COPY dir /d',
      'COPY --chown=12:34 dir/ /e/',
      'COPY --chmod=640 a.txt b.txt /multi/',
      'COPY *.txt /wild/',
      'COPY . /all/',
      '',
    ].join('\n')));
    sameAs(res, { config: false }); // config: next test (a scratch image without ENV PATH differs, reported)
    // the comparison is only as good as what was built: make sure the interesting entries exist
    assert.equal(res.ours.tree['e/sub/deeper/h'].owner, '12:34');
    assert.equal(res.ours.tree['d/rel-link'].link, 'f');
    assert.equal(res.ours.tree['multi/b.txt'].mode, '640');
    assert.equal(res.ours.tree['all/skip.log'], undefined);
  });

  it('config: ENV, WORKDIR, CMD, ENTRYPOINT, USER, LABEL, EXPOSE', async () => {
    const res = await both(ctxWithTree([
      'FROM scratch',
      'ENV PATH=/bin A=1 B="two words"',
      'WORKDIR /app',
      'COPY a.txt .',
      'WORKDIR sub',
      'COPY b.txt ./',
      'ENTRYPOINT ["/bin/run.sh"]',
      'CMD ["--flag", "x"]',
      'USER 1000:1000',
      'LABEL org.example.a=1 "org.example.b"="with space"',
      'EXPOSE 80 443/tcp 53/udp',
      '',
    ].join('\n')));
    sameAs(res);
    assert.equal(res.ours.config.WorkingDir, '/app/sub');
    assert.ok(res.ours.tree['app/sub/b.txt']);
  });
});
