// The executor against a real registry in each auth/transport mode: build FROM a base in that
// registry, push there, then prove the result with skopeo (manifest, config) and umoci (files).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext, runExecutor, umociUnpack } from '../../support/executor';
import { startHttpProxy } from '../../support/http-proxy';
import { pushBaseImages, run, skopeoOpts, startRegistry, tmpDir, type Registry, type RegistryMode } from '../../support/testbed';

function dockerConfigFor(reg: Registry): string {
  const dir = tmpDir('drydock-dockercfg-');
  const auths: Record<string, unknown> = {};
  if (reg.user) auths[reg.host] = { auth: Buffer.from(`${reg.user}:${reg.pass}`).toString('base64') };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths }));
  return dir;
}

export function registryFlags(reg: Registry): string[] {
  return reg.caFile ? ['--registry-certificate', `${reg.host}=${reg.caFile}`] : [];
}

const modes: RegistryMode[] = ['plain', 'htpasswd', 'token', 'tls'];

/** ~3 MiB of text that compresses but is not trivial: its layer is gzipped as several members. */
const bigText = Array.from({ length: 200_000 }, (_, i) => `line ${i} ${(i * 2654435761) % 1000003}\n`).join('');

describe('executor: build and push against a real registry', function () {
  this.timeout(180000);
  for (const mode of modes) {
    it(`${mode}: builds FROM the registry, pushes, and skopeo + umoci see the image`, async () => {
      const reg = await startRegistry(mode);
      await pushBaseImages(reg);
      const ctx = makeContext({
        'Dockerfile': [
          `FROM ${reg.host}/library/busybox:latest`,
          'ARG VERSION=1.0',
          'LABEL org.example.version=$VERSION',
          'ENV APP_HOME=/app',
          'WORKDIR $APP_HOME',
          'COPY --chown=nobody:nobody app.txt ./',
          'COPY --chmod=0755 bin/ /usr/local/bin/',
          'EXPOSE 8080/tcp',
          'USER nobody',
          'ENTRYPOINT ["/bin/sh", "-c"]',
          'CMD ["cat /app/app.txt"]',
        ].join('\n'),
        'app.txt': `hello ${mode}\n`,
        'bin/tool': '#!/bin/sh\necho tool\n',
        'bin/big.txt': bigText,
      });
      const dest = `${reg.host}/drydock/test-${mode}:v1`;
      const digestFile = path.join(tmpDir(), 'digest');
      const r = await runExecutor(['--context', ctx, '--destination', dest, '--digest-file', digestFile, '--build-arg', 'VERSION=2.5', ...registryFlags(reg)], {
        env: { DOCKER_CONFIG: dockerConfigFor(reg) },
      });
      assert.equal(r.code, 0, r.stderr);
      const digest = fs.readFileSync(digestFile, 'utf8').trim();
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);

      const inspect = JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${dest}`]));
      assert.equal(inspect.Digest, digest);
      assert.equal(inspect.Labels['org.example.version'], '2.5');
      assert.ok(inspect.Env.includes('APP_HOME=/app'));
      const raw = JSON.parse(run('skopeo', ['inspect', '--config', ...skopeoOpts(reg), `docker://${dest}`]));
      assert.deepEqual(raw.config.Entrypoint, ['/bin/sh', '-c']);
      assert.deepEqual(raw.config.Cmd, ['cat /app/app.txt']);
      assert.equal(raw.config.WorkingDir, '/app');
      assert.equal(raw.config.User, 'nobody');
      assert.ok('8080/tcp' in raw.config.ExposedPorts);
      assert.equal(raw.rootfs.diff_ids.length, 4, 'base layer, WORKDIR (creates /app), two COPY layers');

      const layout = tmpDir('drydock-layout-');
      run('skopeo', ['copy', ...skopeoOpts(reg, 'src-'), `docker://${dest}`, `oci:${layout}:v1`]);
      const { rootfs } = umociUnpack(layout, 'v1');
      assert.equal(fs.readFileSync(path.join(rootfs, 'app/app.txt'), 'utf8'), `hello ${mode}\n`);
      const st = fs.statSync(path.join(rootfs, 'app/app.txt'));
      assert.equal(st.uid, 65534);
      assert.equal(st.gid, 65534);
      assert.equal(fs.statSync(path.join(rootfs, 'usr/local/bin/tool')).mode & 0o777, 0o755);
      assert.ok(fs.existsSync(path.join(rootfs, 'bin/busybox')), 'base layer unpacked');
      // more than one 1 MiB gzip member in that layer: Go's gzip (umoci) reads them as one stream
      assert.equal(fs.readFileSync(path.join(rootfs, 'usr/local/bin/big.txt'), 'utf8'), bigText);
    });
  }

  it('tls: a registry whose CA is only in the host\'s store (SSL_CERT_FILE / SSL_CERT_DIR, as kaniko\'s image has it) is trusted without --registry-certificate', async () => {
    const reg = await startRegistry('tls');
    await pushBaseImages(reg);
    const ctx = makeContext({ Dockerfile: `FROM ${reg.host}/library/busybox:latest\nLABEL trusted=by-the-host-store\n` });
    const certDir = tmpDir('drydock-ssl-certs-');
    fs.copyFileSync(reg.caFile!, path.join(certDir, 'company-ca.crt'));
    const missing = path.join(certDir, 'no-bundle.pem');
    const untrusted = await runExecutor(['-c', ctx, '-d', `${reg.host}/drydock/host-store:0`], { env: { SSL_CERT_FILE: missing } });
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate/i);
    for (const [tag, env] of [['file', { SSL_CERT_FILE: reg.caFile! }], ['dir', { SSL_CERT_FILE: missing, SSL_CERT_DIR: certDir }]] as const) {
      const dest = `${reg.host}/drydock/host-store:${tag}`;
      const r = await runExecutor(['-c', ctx, '-d', dest], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${dest}`])).Labels.trusted, 'by-the-host-store');
    }
  });

  it('plain, behind an HTTP proxy (HTTP_PROXY with credentials, as Go reads it): pulls and pushes through it, never printing its password', async () => {
    const reg = await startRegistry('plain');
    await pushBaseImages(reg);
    const proxyPass = 'pr0xy-Passw0rd';
    const proxy = await startHttpProxy({ hosts: { 'registry.drydock.test': '127.0.0.1' }, user: 'builder', pass: proxyPass });
    try {
      // a name only the proxy can resolve: a build that finishes went through it
      const host = `registry.drydock.test:${reg.port}`;
      const ctx = makeContext({ Dockerfile: `FROM ${host}/library/busybox:latest\nRUN echo through the proxy > /proxied\n` });
      const env = { HTTP_PROXY: proxy.url.replace('http://', `http://builder:${proxyPass}@`), HTTPS_PROXY: proxy.url.replace('http://', `http://builder:${proxyPass}@`), NO_PROXY: '' };
      const r = await runExecutor(['-c', ctx, '-d', `${host}/drydock/proxied:1`, '--insecure-registry', host, '--verbosity=debug'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(proxy.tunnels.some((t) => t === host), 'requests went through the proxy');
      assert.ok(!r.stderr.includes(proxyPass) && !r.stdout.includes(proxyPass), 'the proxy password is not printed');
      assert.equal(JSON.parse(run('skopeo', ['inspect', ...skopeoOpts(reg), `docker://${reg.host}/drydock/proxied:1`])).Layers.length, 2);
      const refused = await runExecutor(['-c', ctx, '--no-push', '--insecure-registry', host], { env: { ...env, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /proxy http:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY\) refused its credentials \(407 Proxy Authentication Required\)/);
      const noProxy = await runExecutor(['-c', ctx, '--no-push', '--insecure-registry', host], { env: { ...env, HTTP_PROXY: 'http://127.0.0.1:1', HTTPS_PROXY: 'http://127.0.0.1:1' } });
      assert.notEqual(noProxy.code, 0);
      assert.match(noProxy.stderr, /cannot reach registry registry\.drydock\.test:\d+: cannot connect to the proxy http:\/\/127\.0\.0\.1:1 \(HTTPS_PROXY\) \(ECONNREFUSED\)/);
    } finally {
      await proxy.close();
    }
  });

  it('htpasswd: a wrong password fails before building, names the registry, never prints the password, pushes nothing', async () => {
    const reg = await startRegistry('htpasswd');
    const cfgDir = tmpDir('drydock-dockercfg-');
    const badPass = 'wrong-Passw0rd-xyz';
    fs.writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.user}:${badPass}`).toString('base64') } } }));
    // the base comes from another registry, which lets us pull: only the push check can stop the build
    const bases = await startRegistry('plain');
    await pushBaseImages(bases);
    const ctx = makeContext({ Dockerfile: `FROM ${bases.host}/library/busybox:latest\nLABEL a=b\nRUN echo step ran\n` });
    const dest = `${reg.host}/drydock/wrong-password:1`;
    const r = await runExecutor(['-c', ctx, '-d', dest], { env: { DOCKER_CONFIG: cfgDir } });
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stderr, /STEP 2\/|step ran/, 'no step ran: the push check comes first');
    assert.match(r.stderr, new RegExp(`authentication failed for ${reg.host.replace(/\./g, '\\.')}`));
    assert.ok(!r.stderr.includes(badPass) && !r.stdout.includes(badPass), 'password not printed');
    assert.ok(!r.stderr.includes(Buffer.from(`${reg.user}:${badPass}`).toString('base64')), 'encoded credentials not printed');
    assert.throws(() => run('skopeo', ['inspect', '--raw', ...skopeoOpts(reg), `docker://${dest}`]));
  });
});
