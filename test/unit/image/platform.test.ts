import { strict as assert } from 'node:assert';
import {
  defaultPlatform, formatPlatform, normalizePlatform, parsePlatform, platformMatches, selectManifest,
} from '../../../src/image/platform';
import type { ImageIndex } from '../../../src/image/manifest';
import { OCI_MANIFEST, OCI_INDEX } from '../../../src/image/mediatypes';

const entry = (p: string, c: string) => {
  const [os, architecture, variant] = p.split('/');
  return { mediaType: OCI_MANIFEST, digest: 'sha256:' + c.repeat(64), size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) } };
};

describe('image/platform', () => {
  it('parses os/arch[/variant]', () => {
    assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.deepEqual(parsePlatform('Linux/AMD64'), { os: 'linux', architecture: 'amd64' });
    for (const s of ['linux', 'linux/', 'linux/arm/v7/x', '/amd64', 'linux/amd 64']) {
      assert.throws(() => parsePlatform(s), /invalid platform .*expected os\/architecture\[\/variant\]/);
    }
  });

  it('derives the default platform from process.arch', () => {
    assert.deepEqual(defaultPlatform('x64'), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(defaultPlatform('arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.equal(defaultPlatform('arm').architecture, 'arm');
    assert.match(defaultPlatform('arm').variant ?? '', /^v\d$/);
    assert.deepEqual(defaultPlatform('ia32'), { os: 'linux', architecture: '386' });
    assert.deepEqual(defaultPlatform('s390x'), { os: 'linux', architecture: 's390x' });
  });

  it('normalizes like containerd', () => {
    const n = (s: string) => formatPlatform(normalizePlatform(parsePlatform(s)));
    assert.equal(n('linux/aarch64'), 'linux/arm64');
    assert.equal(n('linux/arm64/v8'), 'linux/arm64');
    assert.equal(n('linux/x86_64'), 'linux/amd64');
    assert.equal(n('linux/amd64/v1'), 'linux/amd64');
    assert.equal(n('linux/arm'), 'linux/arm/v7');
    assert.equal(n('linux/armhf'), 'linux/arm/v7');
    assert.equal(n('linux/i386'), 'linux/386');
  });

  it('matches platforms', () => {
    const p = parsePlatform;
    assert.ok(platformMatches(p('linux/arm64'), p('linux/arm64/v8')));
    assert.ok(platformMatches(p('linux/arm64/v8'), p('linux/arm64')));
    assert.ok(platformMatches(p('linux/aarch64'), p('linux/arm64')));
    assert.ok(platformMatches(p('linux/arm/v7'), p('linux/arm/v6')), 'v7 runs v6');
    assert.ok(!platformMatches(p('linux/arm/v6'), p('linux/arm/v7')), 'v6 cannot run v7');
    assert.ok(!platformMatches(p('linux/amd64'), p('linux/arm64')));
    assert.ok(!platformMatches(p('linux/amd64'), p('windows/amd64')));
  });

  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [entry('linux/amd64', 'a'), entry('linux/arm64/v8', 'b'), entry('linux/arm/v6', 'c'), entry('linux/arm/v7', 'd'),
      { ...entry('unknown/unknown', 'e') }],
  };

  it('selects the best manifest from an index', () => {
    assert.equal(selectManifest(index, parsePlatform('linux/amd64')).digest, 'sha256:' + 'a'.repeat(64));
    assert.equal(selectManifest(index, parsePlatform('linux/arm64')).digest, 'sha256:' + 'b'.repeat(64));
    assert.equal(selectManifest(index, parsePlatform('linux/arm/v7')).digest, 'sha256:' + 'd'.repeat(64));
    assert.equal(selectManifest(index, parsePlatform('linux/arm/v8')).digest, 'sha256:' + 'd'.repeat(64));
  });

  it('lists available platforms when nothing matches', () => {
    assert.throws(() => selectManifest(index, parsePlatform('linux/s390x'), 'r.io/x:1'),
      /no image for platform linux\/s390x in r\.io\/x:1; available: linux\/amd64, linux\/arm64\/v8, linux\/arm\/v6, linux\/arm\/v7/);
  });
});
