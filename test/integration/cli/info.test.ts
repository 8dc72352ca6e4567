// `drydock info`: what this host or container lets a build do, from the probes builds use, in
// the shapes the isolation tests use (here: root with mount rights; as in an ordinary container).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runExecutor } from '../../support/executor';
import { tmpDir } from '../../support/testbed';

describe('drydock info', function () {
  this.timeout(60000);

  it('says where RUN would run, how snapshots are taken, and which registries have credentials (never the credentials)', async () => {
    const cfg = tmpDir('drydock-info-');
    const secret = Buffer.from('builder:s3cr3t-Passw0rd').toString('base64');
    fs.writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ auths: { 'registry.example.com': { auth: secret } }, credHelpers: { '123456789012.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' } }));
    const env = { DOCKER_CONFIG: cfg, HTTPS_PROXY: 'http://user:pr0xy-pass@proxy.corp:3128', NO_PROXY: '.internal' };
    const r = await runExecutor(['info'], { bin: 'drydock', env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^RUN isolation: chroot \(mount namespace: yes, launcher: util-linux\)$/m);
    assert.match(r.stdout, /^snapshots: +overlay/m);
    assert.match(r.stdout, /auths for registry\.example\.com; helpers: 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com → ecr-login/);
    assert.match(r.stdout, /^proxies: +https via http:\/\/proxy\.corp:3128; not for \.internal$/m);
    assert.match(r.stdout, /^sidecar: +none/m);
    for (const s of [secret, 's3cr3t-Passw0rd', 'pr0xy-pass']) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), 'no secret printed');
  });

  it('as in an ordinary container (no CAP_SYS_ADMIN, no user namespace): steps without /proc, stat-walk snapshots; --json', async () => {
    const r = await runExecutor(['info', '--json'], { bin: 'drydock', env: { DRYDOCK_NO_USERNS: '1', DRYDOCK_REMOTE: path.join(tmpDir(), 'none.sock') }, under: ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--'] });
    assert.equal(r.code, 0, r.stderr);
    const i = JSON.parse(r.stdout);
    assert.equal(i.capabilities.CAP_SYS_ADMIN, false);
    assert.equal(i.capabilities.CAP_SYS_CHROOT, true);
    assert.match(i.isolation, /mount namespace: no, .*steps have no \/proc/);
    const text = await runExecutor(['info'], { bin: 'drydock', env: { DRYDOCK_NO_USERNS: '1' }, under: ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--'] });
    assert.match(text.stdout, /programs that need \/proc fail in RUN here, ps among them; java starts, given LD_ORIGIN_PATH: use --isolation=none/);
    assert.match(i.snapshots, /^stat-walk \(overlayfs not available: /);
    assert.equal(typeof i.workDir.freeBytes, 'number');
    assert.deepEqual(i.sidecar, { socket: i.sidecar.socket, answers: false });
  });
});
