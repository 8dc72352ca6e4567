import { strict as assert } from 'node:assert';
import { parseReference, registryApiHost, normalizeRegistryHost } from '../../../src/image/reference';
import { UserError } from '../../../src/log';

const D = 'sha256:' + 'a'.repeat(64);

describe('image/reference', () => {
  const cases: Array<[string, string, string, string | undefined, string | undefined]> = [
    ['busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
    ['library/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['user/app', 'docker.io', 'user/app', 'latest', undefined],
    ['docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['index.docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['index.docker.io/user/app:v1', 'docker.io', 'user/app', 'v1', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/app', 'localhost:5000', 'app', 'latest', undefined],
    ['127.0.0.1:5000/a/b/c:t', '127.0.0.1:5000', 'a/b/c', 't', undefined],
    ['gcr.io/project/img', 'gcr.io', 'project/img', 'latest', undefined],
    ['Registry/app', 'Registry', 'app', 'latest', undefined],
    ['[::1]:5000/app', '[::1]:5000', 'app', 'latest', undefined],
    [`busybox@${D}`, 'docker.io', 'library/busybox', undefined, D],
    [`r.io/x:1.0@${D}`, 'r.io', 'x', '1.0', D],
    ['a.b/c-d/e__f/g.h:tag_1.2-3', 'a.b', 'c-d/e__f/g.h', 'tag_1.2-3', undefined],
  ];
  for (const [input, registry, repository, tag, digest] of cases) {
    it(`parses ${input}`, () => {
      const r = parseReference(input);
      assert.deepEqual([r.registry, r.repository, r.tag, r.digest], [registry, repository, tag, digest]);
    });
  }

  it('formats the full form and the name', () => {
    assert.equal(parseReference('busybox').toString(), 'docker.io/library/busybox:latest');
    assert.equal(parseReference(`r.io/x:1@${D}`).toString(), `r.io/x:1@${D}`);
    assert.equal(parseReference('r.io/x:1').name(), 'r.io/x');
  });

  it('withTag drops the digest, withDigest keeps the tag', () => {
    const r = parseReference(`r.io/x:1@${D}`);
    assert.equal(r.withTag('2').toString(), 'r.io/x:2');
    assert.equal(parseReference('r.io/x:1').withDigest(D).toString(), `r.io/x:1@${D}`);
    assert.throws(() => r.withTag('-bad'), /invalid tag "-bad"/);
    assert.throws(() => r.withDigest('sha256:zz'), /invalid digest/);
    assert.throws(() => r.withDigest(`sha256:${'A'.repeat(64)}`), /invalid digest "sha256:A+" for r\.io\/x: expected 64 lowercase hex digits/);
  });

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['docker.io/Busybox', /lowercase/],
    ['busybox:', /not a valid tag/],
    ['busybox:-x', /not a valid tag/],
    ['busybox@sha256:abc', /not a digest/],
    // go-digest: lowercase hex of exactly the algorithm's length, and an algorithm it knows
    [`busybox@sha256:${'A'.repeat(64)}`, /is not a digest: expected 64 lowercase hex digits after "sha256:"/],
    [`r.io/x:1@sha256:${'a'.repeat(63)}B`, /is not a digest: expected 64 lowercase hex digits/],
    [`busybox@sha256:${'a'.repeat(65)}`, /is not a digest: expected 64 lowercase hex digits/],
    [`busybox@sha512:${'a'.repeat(64)}`, /is not a digest: expected 128 lowercase hex digits after "sha512:"/],
    [`busybox@md5:${'a'.repeat(32)}`, /is not a digest: unsupported algorithm "md5"/],
    ['https://r.io/x', /no scheme/],
    ['r.io/a//b', /not a valid repository path component/],
    ['r.io/', /missing|not a valid/],
    ['a b', /whitespace/],
    ['r.io/x_', /not a valid repository path component/],
    ['-bad.io/x', /not a valid registry host/],
  ];
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseReference(input), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, new RegExp(`invalid image reference "${input.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`));
        assert.match(e.message, re);
        return true;
      });
    });
  }

  it('maps Docker Hub to its API host', () => {
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('index.docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(normalizeRegistryHost('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeRegistryHost('http://r.io:5000/path'), 'r.io:5000');
  });
});
