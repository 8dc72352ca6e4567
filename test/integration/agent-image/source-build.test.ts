// Dockerfile.agent's default drydock stage (DRYDOCK_BUILD=source): `npm ci` from the npm registry
// (the one network service the suite may use), `tsc` and `npm prune --omit=dev`, run as RUN steps
// of our executor in chroot isolation on the node stand-in. Only that stage is built (--target), and
// the result is read with umoci. The rest of the image is covered by agent-image.test.ts.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { serveFile, standInBuildArgs } from '../../support/agent-image';
import { runExecutor, umociUnpack } from '../../support/executor';
import { BASE_CACHE, REPO_ROOT, pushBaseImages, run, startRegistry, tmpDir } from '../../support/testbed';

/** Extra CA certificates this host's npm trusts (a TLS-inspecting proxy's), if any. */
function npmCaFile(): string | undefined {
  const fromEnv = process.env.NODE_EXTRA_CA_CERTS;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  const r = spawnSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' });
  const file = r.stdout?.trim();
  return file && file !== 'null' && file !== 'undefined' && fs.existsSync(file) ? file : undefined;
}

describe('agent image: drydock built from source in the image (npm ci + tsc)', function () {
  this.timeout(300000);

  it('compiles src/ and keeps only production dependencies; the result runs', async () => {
    const reg = await startRegistry('plain');
    await pushBaseImages(reg, 'busybox');
    run('bash', [path.join(REPO_ROOT, 'images/agent/stand-ins/make-stand-ins.sh'), reg.host], { env: { ...process.env, BASE_CACHE } });
    const catatonit = await serveFile('/usr/bin/catatonit');
    const layout = path.join(tmpDir('drydock-agentsrc-'), 'oci');
    const ca = npmCaFile();
    try {
      const args = standInBuildArgs(reg, catatonit.url).filter((a) => !a.startsWith('DRYDOCK_BUILD='));
      const r = await runExecutor([
        '--context', REPO_ROOT, '--dockerfile', 'Dockerfile.agent', '--target', 'drydock-source', '--skip-unused-stages',
        '--insecure-pull', ...args.flatMap((a) => ['--build-arg', a]), ...(ca ? ['--secret', `id=npm-ca,src=${ca}`] : []),
        '--no-push', '--oci-layout-path', layout,
      ]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    } finally {
      await catatonit.close();
    }
    const app = path.join(umociUnpack(layout, 'latest').rootfs, 'opt/drydock');
    assert.deepEqual(fs.readdirSync(app).sort(), ['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    assert.deepEqual(fs.readdirSync(path.join(app, 'dist')).sort(), ['snapshot', 'src'], 'tests are not compiled into the image; the startup snapshot is made');
    for (const dep of ['undici', 'commander', 'tar-stream', 'ws']) assert.ok(fs.existsSync(path.join(app, 'node_modules', dep)), dep);
    for (const dev of ['typescript', 'mocha', '@types/mocha']) assert.ok(!fs.existsSync(path.join(app, 'node_modules', dev)), `${dev} was pruned`);
    assert.match(run(path.join(app, 'bin/executor'), ['--help']), /^Usage: build \[options\]/);
  });
});
