// The executor end to end against a plain loopback registry: platforms, stages, outputs,
// reproducibility, and bad input that must fail clearly and leave no manifest behind.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { readLayoutImageConfig } from '../../support/differential';
import { makeContext, runExecutor, umociUnpack } from '../../support/executor';
import { startGitServer } from '../../support/git-server';
import { freePort, pushBaseImages, REPO_ROOT, run, skopeoOpts, startRegistry, tmpDir, type Registry } from '../../support/testbed';

describe('executor (plain registry)', function () {
  this.timeout(120000);
  let reg: Registry;
  before(async () => {
    reg = await startRegistry('plain');
    await pushBaseImages(reg);
  });

  const settle = async (ok: () => boolean) => { for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50)); };
  const processesWith = (match: (cmdline: string) => boolean) => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return match(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8')); } catch { return false; }
  });
  const inspectConfig = (ref: string) => JSON.parse(run('skopeo', ['inspect', '--config', ...skopeoOpts(reg), `docker://${ref}`]));
  const manifestExists = (ref: string) => {
    try {
      run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${ref}`]);
      return true;
    } catch {
      return false;
    }
  };

  it('`executor version` (kaniko\'s subcommand) and --version print the version; other arguments stay a build\'s', async () => {
    for (const args of [['version'], ['--version']]) {
      const r = await runExecutor(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^drydock \d+\.\d+\.\d+\n$/);
    }
    const build = await runExecutor(['version', '--no-push']);
    assert.notEqual(build.code, 0);
    assert.match(build.stderr, /too many arguments/);
  });

  it('removes its work dir after a build, failed or not', async () => {
    const tmp = tmpDir('drydock-tmpdir-');
    const env = { TMPDIR: tmp };
    const left = () => fs.readdirSync(tmp).filter((n) => n.startsWith('drydock-build-'));
    const okCtx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo hi > /x\n` });
    assert.equal((await runExecutor(['-c', okCtx, '--no-push'], { env })).code, 0);
    await settle(() => left().length === 0);
    assert.deepEqual(left(), [], 'removed after a build');
    const badCtx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN false\n` });
    assert.notEqual((await runExecutor(['-c', badCtx, '--no-push'], { env })).code, 0);
    await settle(() => left().length === 0);
    assert.deepEqual(left(), [], 'removed after a failed build');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('--kaniko-dir and KANIKO_DIR say where its work dir goes: a fresh one in there, removed after, whatever else is there (kaniko\'s /kaniko), --cleanup or not', async () => {
    const kanikoDir = tmpDir('drydock-kaniko-dir-');
    fs.mkdirSync(path.join(kanikoDir, '.docker'));
    fs.writeFileSync(path.join(kanikoDir, '.docker', 'config.json'), '{"auths":{}}');
    fs.symlinkSync('/opt/drydock/bin/executor', path.join(kanikoDir, 'executor'));
    const inside = () => fs.readdirSync(kanikoDir).sort();
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo hi > /x\n` });
    let seen = false;
    const watch = setInterval(() => { seen ||= inside().some((n) => n.startsWith('drydock-build-')); }, 5);
    try {
      assert.equal((await runExecutor(['-c', ctx, '--no-push', '--kaniko-dir', kanikoDir, '--cleanup'])).code, 0);
      assert.equal((await runExecutor(['-c', ctx, '--no-push'], { env: { KANIKO_DIR: kanikoDir } })).code, 0);
    } finally {
      clearInterval(watch);
    }
    assert.ok(seen, 'the work dir was made in there');
    await settle(() => inside().length === 2);
    assert.deepEqual(inside(), ['.docker', 'executor']);
    assert.equal(fs.readFileSync(path.join(kanikoDir, '.docker', 'config.json'), 'utf8'), '{"auths":{}}');
  });

  // Killed outright mid-RUN, the executor cannot clean up: the guard shell it started while the
  // step runs sees its input end, kills the step's process group, detaches the overlay the step
  // was writing into and removes the work dir. Both shapes of the chroot isolation: with a mount
  // namespace (root here; a stage with a layer, so an overlay snapshot), and without one (as in
  // an ordinary container: CAP_SYS_ADMIN dropped), where no PID namespace would take the step down.
  // A third shape: no CAP_SYS_ADMIN, but a user namespace may be made (which DRYDOCK_NO_USERNS=1
  // forbids in the second, as Docker's seccomp profile does).
  for (const shape of ['mount namespace', 'no mount namespace', 'user namespace'] as const) {
    it(`killed outright (SIGKILL) during a RUN (${shape}), it leaves no step, mount or work dir behind`, async function () {
      const tmp = tmpDir('drydock-tmpdir-');
      const marker = { 'mount namespace': '4401', 'no mount namespace': '4501', 'user namespace': '4601' }[shape];
      const steps = () => processesWith((c) => c === `sleep\0${marker}\0`);
      const guards = () => processesWith((c) => c.includes(`drydock-guard\0${tmp}/`));
      const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`${tmp}/`));
      const left = () => fs.readdirSync(tmp).filter((n) => n.startsWith('drydock-build-'));
      const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo one > /one && sleep ${marker}\n` });
      const exe = path.join(REPO_ROOT, 'bin/executor');
      const argv = shape === 'mount namespace' ? [exe] : ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--', exe];
      const env = { ...process.env, TMPDIR: tmp, DRYDOCK_NO_USERNS: shape === 'no mount namespace' ? '1' : '' };
      const child = spawn(argv[0], [...argv.slice(1), '-c', ctx, '--no-push', '--verbosity', 'debug'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      await settle(() => steps().length === 1 && guards().length === 1);
      assert.equal(steps().length, 1, `the step runs: ${stderr}`);
      assert.equal(guards().length, 1, 'a guard waits while the step runs');
      assert.match(stderr, { 'mount namespace': /mount namespace: yes,/, 'no mount namespace': /mount namespace: no,/, 'user namespace': /mount namespace: yes, in a user namespace/ }[shape]);
      if (shape === 'mount namespace') assert.equal(mounts().length, 1, 'the step writes into an overlay');
      child.kill('SIGKILL');
      await settle(() => steps().length === 0 && guards().length === 0 && left().length === 0);
      assert.deepEqual(steps(), [], 'the step died with the executor');
      assert.deepEqual(guards(), [], 'the guard is done');
      assert.deepEqual(mounts(), [], 'no mount is left');
      assert.deepEqual(left(), [], 'the work dir is removed');
      assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('drydock-build-')), []);
      fs.rmSync(tmp, { recursive: true, force: true });
    });
  }

  it('stopped by SIGTERM or SIGINT during a RUN, it kills the step, removes its work dir and exits 128+signal', async () => {
    for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const tmp = tmpDir('drydock-tmpdir-');
      const marker = `${sig === 'SIGTERM' ? 4101 : 4201}`;
      const steps = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`; } catch { return false; }
      });
      const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN sleep ${marker}\n` });
      const child = spawn(path.join(REPO_ROOT, 'bin/executor'), ['-c', ctx, '--no-push'], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      for (let i = 0; i < 200 && steps().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(steps().length, 1, 'the step runs');
      const t0 = Date.now();
      child.kill(sig);
      assert.equal(await exited, code, stderr);
      assert.ok(Date.now() - t0 < 3000, 'it stopped at once');
      assert.match(stderr, new RegExp(`interrupted by ${sig}: stopped the running RUN step`));
      assert.deepEqual(steps(), [], 'no step process is left');
      for (let i = 0; i < 100 && fs.readdirSync(tmp).some((n) => n.startsWith('drydock-build-')); i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('drydock-build-')), [], 'the work dir is removed');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  // Docker and buildah record every instruction of a stage in the history (ARG and USER too), an
  // empty_layer one for those that change only the config; kaniko's --force-build-metadata gives
  // each of those an (empty) layer instead.
  it('history has an entry per instruction; --force-build-metadata gives each a layer', async () => {
    const instructions = ['ARG V=1', 'USER 1000', 'ENV A=1', 'LABEL l=1', 'WORKDIR /srv', 'RUN echo x > /tmp/x', 'EXPOSE 80', 'CMD ["sh"]'];
    const ctx = makeContext({ Dockerfile: `ARG GLOBAL=1\nFROM ${reg.host}/library/busybox:latest\n${instructions.join('\n')}\n` });
    const built = async (flags: string[]) => {
      const layout = tmpDir('drydock-layout-');
      const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, ...flags]);
      assert.equal(r.code, 0, r.stderr);
      umociUnpack(layout, 'latest'); // the independent reader takes the empty layers too
      const config = readLayoutImageConfig(layout, 'latest') as { history: Array<{ created_by: string; empty_layer?: boolean }>; rootfs: { diff_ids: string[] } };
      const base = config.rootfs.diff_ids.length - config.history.filter((h) => !h.empty_layer).length;
      assert.equal(base, 0, 'one history entry without empty_layer per layer');
      return config.history.slice(-instructions.length);
    };
    const plain = await built([]);
    assert.deepEqual(plain.map((h) => h.created_by), instructions);
    // WORKDIR makes /srv (busybox has none) and RUN writes: layers; the others only change the config
    assert.deepEqual(plain.map((h) => !h.empty_layer), [false, false, false, false, true, true, false, false]);
    const forced = await built(['--force-build-metadata']);
    assert.deepEqual(forced.map((h) => h.created_by), instructions);
    assert.ok(forced.every((h) => !h.empty_layer), JSON.stringify(forced));
  });

  it('--image-format and --annotation: the manifest family, and annotations (which make it OCI)', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo x > /x\n` });
    const raw = (ref: string) => JSON.parse(run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${ref}`]));
    assert.equal(raw(`${reg.host}/library/busybox:latest`).mediaType, 'application/vnd.docker.distribution.manifest.v2+json', 'a Docker base');
    let r = await runExecutor(['-c', ctx, '-d', `${reg.host}/fmt/app:default`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(raw(`${reg.host}/fmt/app:default`).mediaType, 'application/vnd.docker.distribution.manifest.v2+json', 'the base\'s family by default');
    r = await runExecutor(['-c', ctx, '-d', `${reg.host}/fmt/app:oci`, '--image-format', 'oci']);
    assert.equal(r.code, 0, r.stderr);
    const oci = raw(`${reg.host}/fmt/app:oci`);
    assert.equal(oci.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(oci.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    assert.ok(oci.layers.every((l: { mediaType: string }) => l.mediaType.startsWith('application/vnd.oci.image.layer.v1.tar')), JSON.stringify(oci.layers));
    r = await runExecutor(['-c', ctx, '-d', `${reg.host}/fmt/app:annotated`, '--annotation', 'org.opencontainers.image.source=https://example.com/repo', '--annotation', 'team=build']);
    assert.equal(r.code, 0, r.stderr);
    const annotated = raw(`${reg.host}/fmt/app:annotated`);
    assert.equal(annotated.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(annotated.annotations, { 'org.opencontainers.image.source': 'https://example.com/repo', team: 'build' });
    const layout = tmpDir('drydock-layout-');
    r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, '--image-format', 'docker']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(umociUnpack(layout, 'latest').rootfs, 'x')), 'a Docker-format image still makes a readable layout');
    r = await runExecutor(['-c', ctx, '--no-push', '--image-format', 'docker', '--annotation', 'a=b']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--annotation needs an OCI manifest, and --image-format=docker asks for a Docker one/);
    r = await runExecutor(['-c', ctx, '--no-push', '--image-format', 'zip']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--image-format.*zip.*(docker|oci)/);
  });

  it('COPY and ADD --chmod take symbolic modes (Dockerfile 1.14), applied to each file\'s and directory\'s own mode', async () => {
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest AS build`,
        'RUN mkdir -p /out/sub && echo b > /out/sub/tool && chmod 700 /out/sub/tool && echo c > /out/data && chmod 640 /out/data',
        'FROM scratch',
        'COPY --chmod=+x entrypoint.sh /entrypoint.sh',
        // a new destination directory is 0755 whatever --chmod says (BuildKit); what is copied gets it
        'COPY --chmod=u=rwX,go=rX tree/ /tree/',
        'COPY --from=build --chmod=go-rwx,u+w /out /out',
        // an archive's entries keep their own modes: --chmod is not applied in unpacking (BuildKit, buildah)
        'ADD --chmod=a+r archive.tar /unpacked/',
      ].join('\n'),
      'entrypoint.sh': { content: '#!/bin/sh\n', mode: 0o644 },
      'tree/script': { content: 'x', mode: 0o744 },
      'tree/notes': { content: 'n', mode: 0o600 },
      'archive-src/secret': { content: 's', mode: 0o600 },
    });
    fs.chmodSync(path.join(ctx, 'tree'), 0o700);
    run('tar', ['-cf', path.join(ctx, 'archive.tar'), '-C', path.join(ctx, 'archive-src'), 'secret']);
    const layout = path.join(tmpDir(), 'oci');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    const mode = (p: string) => (fs.lstatSync(path.join(rootfs, p)).mode & 0o7777).toString(8);
    assert.deepEqual(
      ['entrypoint.sh', 'tree', 'tree/script', 'tree/notes', 'out', 'out/sub', 'out/sub/tool', 'out/data', 'unpacked/secret'].map((p) => `${p} ${mode(p)}`),
      ['entrypoint.sh 755', 'tree 755', 'tree/script 755', 'tree/notes 644', 'out 755', 'out/sub 700', 'out/sub/tool 700', 'out/data 600', 'unpacked/secret 600'],
    );
    const bad = await runExecutor(['-c', makeContext({ Dockerfile: 'FROM scratch\nCOPY --chmod=u+q Dockerfile /\n' }), '--no-push']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Dockerfile:2: invalid --chmod=u\+q, expected an octal mode such as 0755 or a symbolic one as chmod takes it, such as u\+x,go-w/);
  });

  it('COPY and ADD --exclude match the paths inside each source (BuildKit\'s patterns: *, **, ! exceptions) and the names a wildcard matched', async () => {
    const ctx = makeContext({
      Dockerfile: [
        'FROM scratch',
        'COPY --exclude=*.md --exclude=sub/c.txt src/ /out/',
        'COPY --exclude=setup/** src/ /subtree/',
        'COPY --exclude=setup --exclude=!setup/deep/x src /exception/',
        'COPY --exclude=*.txt hom* /wild/',
        'ADD --exclude=*.txt src /added/',
        'COPY --parents --exclude=**/c.txt src/./sub /parents/',
      ].join('\n'),
      'src/a.txt': 'a', 'src/b.md': 'b', 'src/sub/c.txt': 'c', 'src/setup/deep/x': 'x', 'src/setup/y': 'y',
      'home.txt': 'h', 'homer.md': 'h',
    });
    const layout = path.join(tmpDir(), 'oci');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    const files = run('find', ['.', '-mindepth', '1'], { cwd: rootfs }).trim().split('\n').sort();
    assert.deepEqual(files, [
      './added', './added/b.md', './added/setup', './added/setup/deep', './added/setup/deep/x', './added/setup/y', './added/sub', './added/sub/c.txt',
      './exception', './exception/a.txt', './exception/b.md', './exception/setup', './exception/setup/deep', './exception/setup/deep/x', './exception/sub', './exception/sub/c.txt',
      './out', './out/a.txt', './out/setup', './out/setup/deep', './out/setup/deep/x', './out/setup/y', './out/sub',
      './parents', './parents/sub',
      './subtree', './subtree/a.txt', './subtree/b.md', './subtree/setup', './subtree/sub', './subtree/sub/c.txt',
      './wild', './wild/homer.md',
    ]);
    const bad = await runExecutor(['-c', makeContext({ Dockerfile: 'FROM scratch\nCOPY --exclude=[x Dockerfile /\n' }), '--no-push']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Dockerfile:2: --exclude=\[x: invalid pattern "\[x", expected a glob with balanced \[ \]/);
  });

  it('COPY --parents keeps the sources\' directories: from the context (globs, **, a pivot) and from a stage', async () => {
    const ctx = makeContext({
      'packages/web/package.json': '{"name":"web"}', 'packages/api/package.json': '{"name":"api"}', 'packages/api/src/index.js': 'x',
      'apps/site/deep/config.json': '{}', 'README.md': 'r',
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest AS build`,
        'RUN mkdir -p /out/dist/js && echo built > /out/dist/js/app.js',
        'FROM scratch',
        'COPY --parents packages/*/package.json /app/',
        'COPY --parents **/config.json /all',
        'COPY --parents ./apps/./site/deep /pivot/',
        'COPY --from=build --parents /out/./dist/js/app.js /srv/',
      ].join('\n'),
    });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    const files = run('find', ['.', '-type', 'f'], { cwd: rootfs }).trim().split('\n').sort();
    assert.deepEqual(files, [
      './all/apps/site/deep/config.json',
      './app/packages/api/package.json', './app/packages/web/package.json',
      './pivot/site/deep/config.json',
      './srv/dist/js/app.js',
    ]);
    assert.equal(fs.readFileSync(path.join(rootfs, 'srv/dist/js/app.js'), 'utf8'), 'built\n');
  });

  it('refuses a base whose config\'s diff_id does not match its layer, naming both (RUN over it, COPY --from it)', async () => {
    const badRef = `${reg.host}/library/busybox:bad-diffid`;
    const dir = path.join(tmpDir('drydock-diffid-'), 'image');
    // gzip-compressed on the way, so the layer's blob digest is not its diff_id (both are checked)
    run('skopeo', ['copy', '--dest-compress', ...skopeoOpts(reg, 'src-'), `docker://${reg.host}/library/busybox:oci`, `dir:${dir}`]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const oldConfig = path.join(dir, manifest.config.digest.split(':')[1]);
    const config = JSON.parse(fs.readFileSync(oldConfig, 'utf8'));
    const wrong = `sha256:${'0'.repeat(64)}`;
    config.rootfs.diff_ids[0] = wrong;
    const body = Buffer.from(JSON.stringify(config));
    const hex = createHash('sha256').update(body).digest('hex');
    fs.rmSync(oldConfig);
    fs.writeFileSync(path.join(dir, hex), body);
    manifest.config = { ...manifest.config, digest: `sha256:${hex}`, size: body.length };
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    run('skopeo', ['copy', ...skopeoOpts(reg, 'dest-'), `dir:${dir}`, `docker://${badRef}`]);
    for (const df of [`FROM ${badRef}\nRUN true\n`, `FROM scratch\nCOPY --from=${badRef} /bin/busybox /busybox\n`]) {
      const r = await runExecutor(['-c', makeContext({ Dockerfile: df }), '--no-push']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`layer ${manifest.layers[0].digest} of image ${badRef.replace(/[.]/g, '\\.')}: its uncompressed content hashes to sha256:[0-9a-f]{64}, but the image config's diff_id is ${wrong}`));
    }
  });

  it('builds FROM a base whose layers are zstd-compressed (RUN over it, and COPY --from it)', async () => {
    const zstdRef = `${reg.host}/library/busybox:zstd`;
    // recompressed through a dir: (a copy between registries would reuse the gzip blob)
    const dir = path.join(tmpDir('drydock-zstd-'), 'image');
    run('skopeo', ['copy', '--dest-compress', '--dest-compress-format', 'zstd', ...skopeoOpts(reg, 'src-'), `docker://${reg.host}/library/busybox:oci`, `dir:${dir}`]);
    run('skopeo', ['copy', ...skopeoOpts(reg, 'dest-'), `dir:${dir}`, `docker://${zstdRef}`]);
    const raw = JSON.parse(run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${zstdRef}`]));
    assert.match(raw.layers[0].mediaType, /zstd$/, 'the base really has a zstd layer');
    const ctx = makeContext({ Dockerfile: `FROM ${zstdRef}\nRUN echo ran > /ran.txt && ls /bin/busybox\nFROM scratch\nCOPY --from=${zstdRef} /bin/busybox /busybox\n` });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, '--target', '0']);
    assert.equal(r.code, 0, r.stderr);
    // (Debian's umoci cannot unpack zstd layers: our RUN's layer, the last, is read with GNU tar)
    const blob = (d: string) => path.join(layout, 'blobs', ...d.split(':'));
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
    assert.match(manifest.layers[0].mediaType, /zstd$/, 'the base layer is carried as it came');
    assert.equal(run('tar', ['-xOf', blob(manifest.layers.at(-1).digest), 'ran.txt']), 'ran\n');
    const layout2 = tmpDir('drydock-layout-');
    const r2 = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout2]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.ok(fs.statSync(path.join(umociUnpack(layout2, 'latest').rootfs, 'busybox')).size > 100000);
    // a stage without RUN reads the zstd layer's paths without unpacking it (is /bin a directory?)
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${zstdRef}\nCOPY Dockerfile /bin/\n`);
    const r3 = await runExecutor(['-c', ctx, '--no-push', '--verbosity', 'debug']);
    assert.equal(r3.code, 0, r3.stderr);
    assert.doesNotMatch(r3.stderr, /unpacked \d+ layer/);
  });

  it('selects the platform from a multi-platform base (index)', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:multiarch\nLABEL x=y\n` });
    for (const [flag, arch] of [[[], 'amd64'], [['--custom-platform', 'linux/arm64'], 'arm64']] as Array<[string[], string]>) {
      const dest = `${reg.host}/drydock/platform:${arch}`;
      const r = await runExecutor(['-c', ctx, '-d', dest, ...flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(inspectConfig(dest).architecture, arch);
    }
  });

  it('builds multi-stage with --target, COPY --from and ONBUILD triggers of the base', async () => {
    const onbuildCtx = makeContext({
      Dockerfile: `FROM ${reg.host}/library/busybox:latest\nONBUILD COPY trigger.txt /from-onbuild.txt\nONBUILD ENV TRIGGERED=yes\n`,
    });
    const baseRef = `${reg.host}/drydock/onbuild-base:1`;
    assert.equal((await runExecutor(['-c', onbuildCtx, '-d', baseRef])).code, 0);
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${baseRef} AS build`,
        'COPY src/ /src/',
        'FROM scratch AS unused',
        'COPY nothing-here /x',
        `FROM ${reg.host}/library/busybox:latest AS final`,
        'COPY --from=build /src/a.txt /from-build/a.txt',
        'COPY --from=build /from-onbuild.txt /copied-onbuild.txt',
        'FROM final AS later',
        'LABEL stage=later',
      ].join('\n'),
      'trigger.txt': 'onbuild ran\n',
      'src/a.txt': 'A\n',
    });
    const dest = `${reg.host}/drydock/multistage:1`;
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '-d', dest, '--target', 'final', '--skip-unused-stages', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const cfg = inspectConfig(dest);
    assert.equal(cfg.config.Labels?.stage, undefined, 'stage "later" is not part of --target final');
    const { rootfs } = umociUnpack(layout, '1');
    assert.equal(fs.readFileSync(path.join(rootfs, 'from-build/a.txt'), 'utf8'), 'A\n');
    assert.equal(fs.readFileSync(path.join(rootfs, 'copied-onbuild.txt'), 'utf8'), 'onbuild ran\n');
  });

  it('writes a docker-archive that skopeo and podman can load, and the digest files', async () => {
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nCOPY f /f\n`, f: 'file\n' });
    const out = tmpDir();
    const tarPath = path.join(out, 'image.tar');
    const dest = `${reg.host}/drydock/archive:v2`;
    const r = await runExecutor(['-c', ctx, '-d', dest, '--no-push', '--tar-path', tarPath,
      '--digest-file', path.join(out, 'digest'), '--image-name-with-digest-file', path.join(out, 'name'),
      '--image-name-tag-with-digest-file', path.join(out, 'nametag')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(manifestExists(dest), false, '--no-push pushes nothing');
    const digest = fs.readFileSync(path.join(out, 'digest'), 'utf8');
    assert.equal(fs.readFileSync(path.join(out, 'name'), 'utf8'), `${reg.host}/drydock/archive@${digest}\n`);
    assert.equal(fs.readFileSync(path.join(out, 'nametag'), 'utf8'), `${reg.host}/drydock/archive:v2@${digest}\n`);
    const insp = JSON.parse(run('skopeo', ['inspect', `docker-archive:${tarPath}`]));
    assert.equal(insp.Layers.length, 2);
    run('tar', ['-xf', tarPath, '-C', out, 'manifest.json']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'))[0].RepoTags, [`${reg.host}/drydock/archive:v2`]);
    const storage = tmpDir('drydock-podman-');
    const loaded = run('podman', ['--root', path.join(storage, 'root'), '--runroot', path.join(storage, 'run'), '--storage-driver', 'vfs', 'load', '-i', tarPath]);
    assert.match(loaded, /Loaded image/);
  });

  it('makes the directories of its output files, and names the flag of one it cannot write, before building when it can tell', async () => {
    const ctx = makeContext({ Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'file\n' });
    const out = tmpDir();
    const ok = await runExecutor(['-c', ctx, '--no-push', '--tar-path', path.join(out, 'new/a/image.tar'),
      '--digest-file', path.join(out, 'new/b/digest'), '--oci-layout-path', path.join(out, 'new/c/layout')]);
    assert.equal(ok.code, 0, ok.stderr);
    for (const p of ['new/a/image.tar', 'new/b/digest', 'new/c/layout/index.json']) assert.ok(fs.statSync(path.join(out, p)).isFile(), p);
    const refused = [
      { args: ['--digest-file', out], error: `cannot write --digest-file ${out}: it is a directory, expected a file name` },
      { args: ['--oci-layout-path', path.join(out, 'new/b/digest')], error: `cannot write --oci-layout-path ${out}/new/b/digest: it is a file, expected a directory (an OCI layout)` },
      { args: ['--tar-path', path.join(out, 'new/b/digest/image.tar')], error: `cannot write --tar-path ${out}/new/b/digest/image.tar: a component of the path is a file` },
    ];
    for (const r of refused) {
      const res = await runExecutor(['-c', ctx, '--no-push', ...r.args]);
      assert.equal(res.code, 1, res.stderr);
      assert.ok(res.stderr.includes(`ERROR ${r.error}\n`), res.stderr);
      assert.doesNotMatch(res.stderr, /STEP 1/, 'refused before the build');
    }
    // a write that fails as it goes (/dev/full: ENOSPC) ends the build with the flag named, not a crash
    for (const flag of ['--tar-path', '--digest-file']) {
      const res = await runExecutor(['-c', ctx, '--no-push', flag, '/dev/full']);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, new RegExp(`ERROR cannot write ${flag} /dev/full: no space left on device\n`));
      assert.doesNotMatch(res.stderr, /Node\.js|at .*\.js:\d+/);
    }
  });

  it('--reproducible: the same input gives the same digest, whatever the file times', async () => {
    const files = { Dockerfile: `FROM ${reg.host}/library/busybox:oci\nCOPY . /app/\nENV A=1\n`, 'x.txt': 'x\n', 'sub/y.txt': 'y\n' };
    const digests: string[] = [];
    for (let k = 0; k < 2; k++) {
      const ctx = makeContext(files);
      fs.utimesSync(path.join(ctx, 'x.txt'), new Date(1000 * (k + 1)), new Date(1000 * (k + 1)));
      const df = path.join(tmpDir(), 'digest');
      const r = await runExecutor(['-c', ctx, '-d', `${reg.host}/drydock/repro:${k}`, '--reproducible', '--digest-file', df]);
      assert.equal(r.code, 0, r.stderr);
      digests.push(fs.readFileSync(df, 'utf8'));
    }
    assert.equal(digests[0], digests[1]);
    assert.equal(inspectConfig(`${reg.host}/drydock/repro:0`).created, '1970-01-01T00:00:00Z');
  });

  it('ADD of a git repository: ref, subdir, --keep-git-dir, --checksum (a commit), over a dumb-http server on loopback', async () => {
    const srv = await startGitServer();
    try {
      const repo = srv.url;
      const ctx = makeContext({ Dockerfile: [
        'FROM scratch',
        `ADD ${repo} /head/`,
        `ADD ${repo}#v1:sub /v1sub`,
        `ADD --keep-git-dir=true ${repo}#v1 /withgit/`,
        `ADD --checksum=${srv.v1} ${repo}?ref=v1 /checked/`,
      ].join('\n') });
      const layout = tmpDir('drydock-layout-');
      const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
      assert.equal(r.code, 0, r.stderr);
      const { rootfs } = umociUnpack(layout, 'latest');
      assert.equal(fs.readFileSync(path.join(rootfs, 'head/a.txt'), 'utf8'), 'second\n', 'the default branch');
      assert.ok(!fs.existsSync(path.join(rootfs, 'head/.git')), 'no .git by default');
      assert.equal(fs.readFileSync(path.join(rootfs, 'v1sub/tool.sh'), 'utf8'), '#!/bin/sh\necho tool\n');
      const tool = fs.statSync(path.join(rootfs, 'v1sub/tool.sh'));
      assert.equal(tool.mode & 0o777, 0o755, 'modes as git records them');
      assert.equal(tool.mtime.toISOString(), '2021-02-03T04:05:06.000Z', 'dated by the commit');
      assert.equal(fs.statSync(path.join(rootfs, 'head/a.txt')).mode & 0o777, 0o644);
      assert.equal(run('git', ['--git-dir', path.join(rootfs, 'withgit/.git'), 'rev-parse', 'HEAD']).trim(), srv.v1, 'the .git kept, at the tag');
      assert.equal(fs.readFileSync(path.join(rootfs, 'checked/a.txt'), 'utf8'), 'first\n');

      const fails = async (line: string, ...want: RegExp[]) => {
        fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM scratch\n${line}\n`);
        const bad = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', tmpDir()]);
        assert.notEqual(bad.code, 0, line);
        for (const w of want) assert.match(bad.stderr, w);
        return bad.stderr;
      };
      await fails(`ADD --checksum=${'0'.repeat(40)} ${repo}#v1 /x/`, /Dockerfile:2: checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/repo\.git \(ref v1\): expected commit 0{40}, got [0-9a-f]{40}/);
      await fails(`ADD ${repo}#no-such-branch /x/`, /Dockerfile:2: cannot fetch http:\/\/127\.0\.0\.1:\d+\/repo\.git \(ref no-such-branch\)/);
      await fails(`ADD ${repo}#v1:nope /x/`, /Dockerfile:2: .* has no directory "nope"/);
      const leaked = await fails(`ADD http://u:s3cr3tpass@${srv.location.replace('repo.git', 'missing.git')} /x/`, /Dockerfile:2: cannot fetch/);
      assert.doesNotMatch(leaked, /s3cr3tpass/, 'a password in the URL is never printed');
    } finally {
      srv.close();
    }
  });

  it('builds from a git context: kaniko\'s git://HOST/PATH#REF#COMMIT (with GIT_PULL_METHOD, --git branch=) and BuildKit\'s https://…/repo.git#REF:SUBDIR', async () => {
    const srv = await startGitServer();
    try {
      const build = async (context: string, extra: string[] = [], env: Record<string, string> = {}) => {
        const layout = tmpDir('drydock-layout-');
        const r = await runExecutor(['-c', context, '--no-push', '--oci-layout-path', layout, ...extra], { env: { GIT_PULL_METHOD: 'http', ...env } });
        assert.equal(r.code, 0, r.stderr);
        const { rootfs } = umociUnpack(layout, 'latest');
        return { rootfs, stderr: r.stderr, read: (p: string) => fs.readFileSync(path.join(rootfs, 'ctx', p), 'utf8') };
      };
      const main = await build(`git://${srv.location}`);
      assert.equal(main.read('a.txt'), 'second\n', 'the remote\'s HEAD');
      assert.ok(fs.existsSync(path.join(main.rootfs, 'ctx/.git/HEAD')), 'kaniko\'s clone keeps .git in the context');
      assert.match(main.stderr, new RegExp(`at commit ${srv.head}`));
      assert.equal((await build(`git://${srv.location}#refs/heads/feature`)).read('b.txt'), 'feature\n');
      assert.equal((await build(`git://${srv.location}`, ['--git', 'branch=feature,single-branch=true'])).read('b.txt'), 'feature\n');
      const pinned = await build(`git://${srv.location}#refs/heads/main#${srv.v1}`);
      assert.equal(pinned.read('a.txt'), 'first\n', 'the commit, below the ref');
      const sub = await build(`${srv.url}#v1:sub`);
      assert.equal(sub.read('tool.sh'), '#!/bin/sh\necho tool\n', 'the subdir is the context');
      assert.ok(!fs.existsSync(path.join(sub.rootfs, 'ctx/.git')) && !fs.existsSync(path.join(sub.rootfs, 'ctx/a.txt')));
      const withToken = await build(`git://${srv.location}`, ['--verbosity', 'debug'], { GIT_TOKEN: 'ghp_t0kenvalue' });
      assert.ok(srv.authorizations.includes(`Basic ${Buffer.from('x-access-token:ghp_t0kenvalue').toString('base64')}`), 'GIT_TOKEN reaches the server as basic auth');
      assert.doesNotMatch(withToken.stderr, /ghp_t0kenvalue/);
      const tokenInUrl = await build(`git://ghp_urlt0ken@${srv.location}`, ['--verbosity', 'debug']);
      assert.match(tokenInUrl.stderr, /fetching build context http:\/\/\*\*\*@127\.0\.0\.1/, 'kaniko\'s git://TOKEN@HOST form is masked');
      assert.doesNotMatch(tokenInUrl.stderr, /ghp_urlt0ken/);
      const bad = await runExecutor(['-c', `git://${srv.location}`, '--no-push', '--git', 'colour=blue']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /--git: unknown option "colour"/);
    } finally {
      srv.close();
    }
  });

  it('ADD unpacks local tar archives and downloads URLs verified by --checksum', async () => {
    const payload = 'remote content\n';
    const sum = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    const port = await freePort();
    const server = http.createServer((req, res) => {
      if (req.url === '/files/remote.txt') res.end(payload);
      else { res.statusCode = 404; res.end(); }
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const ctx = makeContext({});
      fs.mkdirSync(path.join(ctx, 'tree/inner'), { recursive: true });
      fs.writeFileSync(path.join(ctx, 'tree/inner/t.txt'), 'in tar\n');
      run('tar', ['-czf', path.join(ctx, 'bundle.tgz'), '-C', path.join(ctx, 'tree'), '.']);
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
        'FROM scratch',
        'ADD bundle.tgz /opt/',
        `ADD --checksum=${sum} http://127.0.0.1:${port}/files/remote.txt /dl/`,
      ].join('\n'));
      const layout = tmpDir('drydock-layout-');
      const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
      assert.equal(r.code, 0, r.stderr);
      const { rootfs } = umociUnpack(layout, 'latest');
      assert.equal(fs.readFileSync(path.join(rootfs, 'opt/inner/t.txt'), 'utf8'), 'in tar\n');
      assert.equal(fs.readFileSync(path.join(rootfs, 'dl/remote.txt'), 'utf8'), payload);
      assert.equal(fs.statSync(path.join(rootfs, 'dl/remote.txt')).mode & 0o777, 0o600);

      fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM scratch\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/files/remote.txt /dl/\n`);
      const bad = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', tmpDir()]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Dockerfile:2: checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/files\/remote\.txt/);
    } finally {
      server.close();
    }
  });

  it('ADD unpacks tar, gzip, bzip2, xz and zstd archives by content, and copies compressed files that hold no tar as they are', async () => {
    const ctx = makeContext({});
    fs.mkdirSync(path.join(ctx, 'tree/inner'), { recursive: true });
    fs.writeFileSync(path.join(ctx, 'tree/inner/t.txt'), 'in tar\n');
    const tarOf = (name: string, ...flags: string[]) => run('tar', ['-c', ...flags, '-f', path.join(ctx, name), '-C', path.join(ctx, 'tree'), '.']);
    tarOf('plain.archive');
    tarOf('bz.archive', '-j');
    tarOf('xz.archive', '-J');
    tarOf('zst.archive', '--zstd');
    const data = '{"not": "a tar"}\n';
    fs.writeFileSync(path.join(ctx, 'data.json'), data);
    for (const [tool, ext] of [['gzip', 'gz'], ['bzip2', 'bz2'], ['xz', 'xz'], ['zstd', 'zst']]) run(tool, ['-k', '-q', path.join(ctx, 'data.json')]);
    fs.writeFileSync(path.join(ctx, 'broken.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
      'FROM scratch',
      'ADD plain.archive /plain/',
      'ADD bz.archive /bz/',
      'ADD xz.archive /xz/',
      'ADD zst.archive /zst/',
      'ADD data.json.gz data.json.bz2 data.json.xz data.json.zst broken.gz /kept/',
    ].join('\n'));
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    for (const d of ['plain', 'bz', 'xz', 'zst']) assert.equal(fs.readFileSync(path.join(rootfs, d, 'inner/t.txt'), 'utf8'), 'in tar\n', d);
    for (const f of ['data.json.gz', 'data.json.bz2', 'data.json.xz', 'data.json.zst', 'broken.gz']) {
      assert.ok(fs.readFileSync(path.join(rootfs, 'kept', f)).equals(fs.readFileSync(path.join(ctx, f))), `${f} is copied as it is`);
    }
  });

  it('COPY --from a stage follows its symlinks inside the stage, never onto the host (a link to / in the builder)', async () => {
    const outside = tmpDir('drydock-host-');
    fs.writeFileSync(path.join(outside, 'secret'), 'host secret');
    const ctx = makeContext({
      Dockerfile: [
        `FROM ${reg.host}/library/busybox:latest AS b`,
        'RUN ln -s / /hostlink && mkdir -p /inner && echo stage > /inner/own',
        'FROM scratch',
        'COPY --from=b /hostlink/inner/own /own',
        `COPY --from=b /hostlink${outside}/secret /leak`,
      ].join('\n'),
    });
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', tmpDir('drydock-layout-')]);
    assert.notEqual(r.code, 0, 'the host file must not be copied');
    assert.match(r.stderr, /STEP 4\/5: COPY --from=b \/hostlink\/inner\/own/, 'the link to / resolves to the stage\'s own root');
    assert.match(r.stderr, new RegExp(`Dockerfile:5: source "/hostlink${outside}/secret" not found`));
  });

  it('COPY --from an image, --label, and JSON logs', async () => {
    const ctx = makeContext({ Dockerfile: `FROM scratch\nCOPY --from=${reg.host}/library/busybox:latest /bin/busybox /busybox\n` });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout, '--label', 'team=infra', '--label', 'tier=build', '--log-format', 'json', '--verbosity', 'debug']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.level === 'info' && /^STEP 2\/2: COPY --from=/.test(l.msg)), 'steps are JSON log lines');
    assert.ok(lines.some((l) => /image .*busybox:latest has no extended attributes \(its layers carry none\): not read/.test(l.msg)), 'no getfattr for an image without attributes');
    const insp = JSON.parse(run('skopeo', ['inspect', `oci:${layout}:latest`]));
    assert.deepEqual(insp.Labels, { team: 'infra', tier: 'build' });
    const { rootfs } = umociUnpack(layout, 'latest');
    assert.ok(fs.statSync(path.join(rootfs, 'busybox')).size > 100000);
  });

  it('builds from a context piped in as tar://stdin (kaniko\'s form)', async () => {
    const ctx = makeContext({ Dockerfile: 'FROM scratch\nCOPY piped.txt /piped.txt\n', 'piped.txt': 'through stdin\n' });
    const tgz = Buffer.from(run('sh', ['-c', `tar -C ${ctx} -cf - . | gzip | base64 -w0`]), 'base64');
    const layout = path.join(tmpDir(), 'oci');
    const r = await runExecutor(['--context', 'tar://stdin', '--no-push', '--oci-layout-path', layout], { input: tgz });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(umociUnpack(layout, 'latest').rootfs, 'piped.txt'), 'utf8'), 'through stdin\n');
  });

  it('honours .dockerignore with ! exceptions', async () => {
    const ctx = makeContext({
      Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
      '.dockerignore': '*.log\n!keep.log\nsecret/\n',
      'a.log': 'no', 'keep.log': 'yes', 'secret/key': 'no', 'ok.txt': 'ok',
    });
    const layout = tmpDir('drydock-layout-');
    const r = await runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', layout]);
    assert.equal(r.code, 0, r.stderr);
    const { rootfs } = umociUnpack(layout, 'latest');
    assert.deepEqual(fs.readdirSync(path.join(rootfs, 'ctx')).sort(), ['.dockerignore', 'Dockerfile', 'keep.log', 'ok.txt']);
  });

  describe('bad input fails with a specific message, a non-zero exit and no manifest', () => {
    const cases: Array<{ name: string; files: Record<string, string>; args?: string[]; env?: Record<string, string>; expect: RegExp; dest?: (r: Registry) => string }> = [
      { name: 'malformed Dockerfile', files: { Dockerfile: 'FROM scratch\nCOPY\n' }, expect: /Dockerfile:2: .*COPY/ },
      { name: 'unknown instruction', files: { Dockerfile: 'FROM scratch\nRUNN echo hi\n' }, expect: /Dockerfile:2: unknown instruction "?RUNN"?/i },
      { name: 'missing COPY source', files: { Dockerfile: 'FROM scratch\nCOPY nope.txt /x\n' }, expect: /Dockerfile:2: source "nope\.txt" not found in the build context/ },
      { name: 'failing RUN', files: { Dockerfile: 'FROM REG/library/busybox:latest\nRUN echo starting && exit 3\n' }, expect: /Dockerfile:2: RUN echo starting && exit 3 failed: exit code 3/ },
      { name: 'missing base repository', files: { Dockerfile: 'FROM REG/library/no-such-image:1\n' }, expect: /Dockerfile:1: cannot pull base image .*no-such-image/ },
      { name: 'unreachable registry', files: { Dockerfile: 'FROM 127.0.0.1:1/library/busybox:latest\n' }, expect: /127\.0\.0\.1:1.*(refused|reach)/i },
      { name: 'unknown flag', files: { Dockerfile: 'FROM scratch\n' }, args: ['--frobnicate'], expect: /unknown option '--frobnicate'/ },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const files = Object.fromEntries(Object.entries(c.files).map(([k, v]) => [k, v.replace('REG', reg.host)]));
        const ctx = makeContext(files);
        const dest = `${reg.host}/drydock/bad-${c.name.toLowerCase().replace(/\W+/g, '-').replace(/-$/, '')}:1`;
        const r = await runExecutor(['-c', ctx, '-d', dest, ...(c.args ?? [])], { env: c.env });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, c.expect);
        assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace for user errors');
        assert.equal(manifestExists(dest), false);
      });
    }
  });
});
