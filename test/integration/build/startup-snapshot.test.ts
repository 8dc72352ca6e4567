// The commands start from a V8 startup snapshot of their modules (src/cli/startup-snapshot.ts,
// made by `npm run build` into dist/snapshot/, used by bin/launch). What must hold: a build from
// it works, workers included; a snapshot whose files changed or moved, or that another node
// binary made, is never run stale; without one the commands start as usual.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { makeContext, runExecutor } from '../../support/executor';
import { REPO_ROOT, tmpDir } from '../../support/testbed';

/** A copy of the installed package (bin, dist/src, package.json; node_modules linked) to change at will. */
function copyOfPackage(): string {
  const dir = tmpDir('drydock-pkg-');
  fs.cpSync(path.join(REPO_ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'dist/src'), path.join(dir, 'dist/src'), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function makeSnapshotIn(pkg: string): void {
  const { makeSnapshot } = require(path.join(pkg, 'dist/src/cli/make-snapshot.js')) as typeof import('../../../src/cli/make-snapshot');
  assert.equal(makeSnapshot(path.join(pkg, 'dist/snapshot')), null);
}

function fromBlob(pkg: string, startJs: string, args: string[]) {
  return spawnSync(process.execPath, ['--snapshot-blob', path.join(pkg, 'dist/snapshot/drydock.blob'), startJs, ...args], { encoding: 'utf8', env: envWithout });
}

// whatever NODE_OPTIONS this test run has, the commands below run without (see bin/launch)
const NO_NODE_OPTIONS = { NODE_OPTIONS: '' };
const envWithout = { ...process.env, ...NO_NODE_OPTIONS };

const origin = (stderr: string) => /DEBUG node v[\d.]+, (.*), \d+ ms after node started/.exec(stderr)?.[1];

describe('startup snapshot', function () {
  this.timeout(120000);
  // one COPY-only build, no registry: FROM scratch into an OCI layout
  const ctx = makeContext({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  const build = (env: NodeJS.ProcessEnv = {}) => runExecutor(['-c', ctx, '--no-push', '--oci-layout-path', path.join(tmpDir(), 'oci'), '--verbosity', 'debug'], { env: { ...NO_NODE_OPTIONS, ...env } });

  it('npm run build made one, and bin/executor starts from it', async () => {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist/snapshot/drydock.blob')), 'dist/snapshot/drydock.blob (made by npm run build / npm test)');
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.match(origin(r.stderr) ?? '', /^snapshot \(\d+ modules\)$/);
  });

  it('DRYDOCK_NO_SNAPSHOT=1 loads the modules at start, with the same result', async () => {
    const r = await build({ DRYDOCK_NO_SNAPSHOT: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(origin(r.stderr), 'modules loaded at start');
  });

  it('with NODE_OPTIONS set (a V8 option would make node refuse the snapshot) or NODE_DEBUG it starts without one', async () => {
    const r = await build({ NODE_OPTIONS: '--max-old-space-size=1024' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(origin(r.stderr), 'modules loaded at start');
    const d = await build({ NODE_DEBUG: 'drydock-none' });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(origin(d.stderr), 'modules loaded at start');
  });

  it('make-snapshot leaves NODE_OPTIONS out of the snapshot it makes', () => {
    const pkg = copyOfPackage();
    const made = spawnSync(process.execPath, [path.join(pkg, 'dist/src/cli/make-snapshot.js')], {
      encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=1024' },
    });
    assert.equal(made.stderr, '');
    // node without options starts from it
    assert.match(fromBlob(pkg, path.join(pkg, 'dist/src/cli/start.js'), ['drydock', '--version']).stdout, /^drydock \d/);
  });

  it('a build that extracts in a worker thread works from the snapshot', async () => {
    const files: Record<string, string> = { Dockerfile: 'FROM scratch\nCOPY many /many/\n' };
    for (let i = 0; i < 2100; i++) files[`many/d${i % 20}/f${i}`] = `${i}\n`; // past WORKER_MIN_ENTRIES
    const many = makeContext(files);
    const r = await runExecutor(['-c', many, '--no-push', '--oci-layout-path', path.join(tmpDir(), 'oci'), '--verbosity', 'debug'], { env: NO_NODE_OPTIONS });
    assert.equal(r.code, 0, r.stderr);
    assert.match(origin(r.stderr) ?? '', /^snapshot/);
  });

  it('a changed module or a moved package loads afresh instead of running what the snapshot holds', () => {
    const pkg = copyOfPackage();
    makeSnapshotIn(pkg);
    const start = path.join(pkg, 'dist/src/cli/start.js');
    assert.match(fromBlob(pkg, start, ['drydock', '--version']).stdout, /^drydock \d/);
    const main = path.join(pkg, 'dist/src/cli/main.js');
    // loaded afresh by the snapshot's loader, whose modules may import() as under Node's own
    fs.writeFileSync(main, fs.readFileSync(main, 'utf8').replace('`drydock ${', "(await import('node:path')).sep + `drydock-changed ${"));
    const changed = fromBlob(pkg, start, ['drydock', '--version']);
    assert.match(changed.stdout, /^\/drydock-changed \d/, changed.stderr);
    // the same snapshot asked to start another copy (moved, or reinstalled elsewhere) runs that copy
    const other = copyOfPackage();
    const otherMain = path.join(other, 'dist/src/cli/main.js');
    fs.writeFileSync(otherMain, fs.readFileSync(otherMain, 'utf8').replace('`drydock ${', '`drydock-elsewhere ${'));
    assert.match(fromBlob(pkg, path.join(other, 'dist/src/cli/start.js'), ['drydock', '--version']).stdout, /^drydock-elsewhere \d/);
  });

  it('bin/launch skips a snapshot that another node binary made', () => {
    const pkg = copyOfPackage();
    makeSnapshotIn(pkg);
    const buildWithCopy = () => spawnSync(path.join(pkg, 'bin/executor'),
      ['-c', ctx, '--no-push', '--oci-layout-path', path.join(tmpDir(), 'oci'), '--verbosity', 'debug'], { encoding: 'utf8', env: envWithout });
    assert.match(origin(buildWithCopy().stderr) ?? '', /^snapshot/);
    fs.writeFileSync(path.join(pkg, 'dist/snapshot/node.stamp'), '1 2\n'); // as if node were replaced since
    const r = buildWithCopy();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(origin(r.stderr), 'modules loaded at start');
  });

  it('its training run leaves nothing in the temporary directory, and a failed one makes no snapshot', () => {
    const pkg = copyOfPackage();
    const tmp = tmpDir('drydock-training-tmp-');
    const env = { ...envWithout, TMPDIR: tmp };
    let r = spawnSync(process.execPath, [path.join(pkg, 'dist/src/cli/make-snapshot.js')], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(fs.existsSync(path.join(pkg, 'dist/snapshot/drydock.blob')));
    assert.deepEqual(fs.readdirSync(tmp), [], 'training files removed');
    fs.writeFileSync(path.join(pkg, 'dist/src/cli/snapshot-training.js'), 'exports.train = async () => { throw new Error("training broke"); };\n');
    r = spawnSync(process.execPath, [path.join(pkg, 'dist/src/cli/make-snapshot.js')], { encoding: 'utf8', env });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /no startup snapshot \(.*training broke.*\)/);
    assert.equal(fs.existsSync(path.join(pkg, 'dist/snapshot')), false);
  });

  it('--max-http-header-size given to node reaches undici; without it, Node\'s default 16 KiB holds', async () => {
    // a "registry" whose answers carry a 20 KB header: over the default, under 64 KiB
    const server = http.createServer((_req, res) => { res.writeHead(404, { 'x-padding': 'a'.repeat(20000) }); res.end('{}'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (server.address() as import('node:net').AddressInfo).port;
      const c = makeContext({ Dockerfile: `FROM 127.0.0.1:${port}/some/image:1\n` });
      const start = path.join(REPO_ROOT, 'dist/src/cli/start.js');
      const build = (flags: string[]) => new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--snapshot-blob', path.join(REPO_ROOT, 'dist/snapshot/drydock.blob'), ...flags, start, 'executor', '-c', c, '--no-push', '--verbosity', 'debug'], { env: envWithout });
        let err = '';
        child.stderr.on('data', (d) => { err += d; });
        child.on('close', () => resolve(err));
      });
      const plain = await build([]);
      assert.match(plain, /snapshot \(\d+ modules\)/);
      assert.match(plain, /ping failed .*origin=http:\/\/127\.0\.0\.1:\d+ error=.*[Hh]eaders? [Oo]verflow/);
      const raised = await build(['--max-http-header-size=65536']);
      assert.match(raised, /snapshot \(\d+ modules\)/);
      assert.match(raised, /answered 404 at http:\/\/127\.0\.0\.1:\d+\/v2\//);
    } finally {
      server.close();
    }
  });

  it('make-snapshot reports why it made none instead of failing the build', () => {
    const pkg = copyOfPackage();
    fs.writeFileSync(path.join(pkg, 'dist/src/log/logger.js'), 'throw new Error("broken module");\n');
    const r = spawnSync(process.execPath, [path.join(pkg, 'dist/src/cli/make-snapshot.js')], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /no startup snapshot \(.*broken module.*\); the commands will load their modules at start/);
    assert.equal(fs.existsSync(path.join(pkg, 'dist/snapshot')), false);
  });
});
