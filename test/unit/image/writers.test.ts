// OCI layout and docker-archive writers, read back by independent tools: skopeo (containers/image)
// and umoci (OCI image-tools).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { writeLayer } from '../../../src/fs/layer-writer';
import type { LayerEntry } from '../../../src/fs/types';
import { appendLayer, editConfig, emptyImage, serializeImage, type Image, type Layer } from '../../../src/image/image';
import * as mt from '../../../src/image/mediatypes';
import { parseReference } from '../../../src/image/reference';
import { writeDockerArchive } from '../../../src/image/writers/docker-archive';
import { writeOciLayout } from '../../../src/image/writers/oci-layout';
import { UserError } from '../../../src/log';
import { run, tmpDir } from '../../support/testbed';

const mtime = new Date('2021-02-03T04:05:06Z');
const file = (p: string, content: string, mode = 0o644, uid = 0, gid = 0): LayerEntry => ({ path: p, type: 'file', content: Buffer.from(content), mode, uid, gid, mtime });
const dir = (p: string, mode = 0o755): LayerEntry => ({ path: p, type: 'dir', mode, uid: 0, gid: 0, mtime });

async function makeLayer(work: string, entries: LayerEntry[], mediaType: string): Promise<Layer> {
  const out = path.join(work, `layer-${Math.random().toString(36).slice(2)}.tgz`);
  const w = await writeLayer(entries, out, { compression: 'gzip' });
  return { descriptor: { mediaType, digest: w.digest, size: w.size }, diffId: w.diffId, open: async () => fs.createReadStream(out) };
}

async function makeImage(work: string, family: string): Promise<Image> {
  const lm = mt.layerMediaType(family, 'gzip');
  let img = emptyImage({ os: 'linux', architecture: 'amd64' }, family);
  img = appendLayer(img, await makeLayer(work, [dir('app'), file('app/hello.txt', 'hello\n'), file('app/run.sh', '#!/bin/sh\n', 0o755)], lm), { created_by: 'COPY . /app' });
  img = appendLayer(img, await makeLayer(work, [dir('etc'), file('etc/owned', 'x', 0o600, 1000, 1001)], lm), { created_by: 'COPY --chown=1000:1001 owned /etc/' });
  img = editConfig(img, (c) => {
    c.Env = ['PATH=/bin', 'A=1'];
    c.Cmd = ['/app/run.sh'];
    c.WorkingDir = '/app';
    c.Labels = { 'org.example': 'yes' };
  });
  return img;
}

const inspect = (transport: string) => JSON.parse(run('skopeo', ['inspect', transport]));
const inspectConfig = (transport: string) => JSON.parse(run('skopeo', ['inspect', '--config', transport]));

function umociUnpack(layout: string, tag: string): string {
  const bundle = path.join(tmpDir('drydock-writers-bundle-'), 'b');
  run('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  return path.join(bundle, 'rootfs');
}

function checkRootfs(rootfs: string) {
  assert.equal(fs.readFileSync(path.join(rootfs, 'app/hello.txt'), 'utf8'), 'hello\n');
  assert.equal(fs.statSync(path.join(rootfs, 'app/run.sh')).mode & 0o7777, 0o755);
  const owned = fs.statSync(path.join(rootfs, 'etc/owned'));
  assert.equal(owned.mode & 0o7777, 0o600);
  assert.equal(owned.uid, 1000);
  assert.equal(owned.gid, 1001);
  assert.equal(fs.statSync(path.join(rootfs, 'app/hello.txt')).mtime.getTime(), mtime.getTime());
}

describe('image/writers', function () {
  this.timeout(60000);
  let work: string;
  beforeEach(() => { work = tmpDir('drydock-writers-'); });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  describe('OCI layout', () => {
    it('skopeo and umoci read what we write; the digest returned is the one they see', async () => {
      const img = await makeImage(work, mt.OCI_MANIFEST);
      const layout = path.join(work, 'oci');
      const desc = await writeOciLayout(layout, img, 'v1');
      assert.equal(desc.mediaType, mt.OCI_MANIFEST);
      assert.equal(desc.digest, serializeImage(img).manifestDigest);
      assert.deepEqual(desc.annotations, { 'org.opencontainers.image.ref.name': 'v1' });
      const info = inspect(`oci:${layout}:v1`);
      assert.equal(info.Digest, desc.digest);
      assert.deepEqual(info.Layers, img.layers.map((l) => l.descriptor.digest));
      const cfg = inspectConfig(`oci:${layout}:v1`);
      assert.deepEqual(cfg.config.Env, ['PATH=/bin', 'A=1']);
      assert.deepEqual(cfg.config.Cmd, ['/app/run.sh']);
      assert.equal(cfg.config.WorkingDir, '/app');
      assert.deepEqual(cfg.config.Labels, { 'org.example': 'yes' });
      assert.deepEqual(cfg.rootfs.diff_ids, img.config.rootfs.diff_ids);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
      checkRootfs(umociUnpack(layout, 'v1'));
    });

    it('a Docker-family image is written with OCI media types (and so a different digest)', async () => {
      const img = await makeImage(work, mt.DOCKER_MANIFEST);
      const layout = path.join(work, 'oci');
      const desc = await writeOciLayout(layout, img, 'latest');
      assert.notEqual(desc.digest, serializeImage(img).manifestDigest);
      const manifest = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${layout}:latest`]));
      assert.equal(manifest.mediaType, mt.OCI_MANIFEST);
      assert.equal(manifest.config.mediaType, mt.OCI_CONFIG);
      assert.deepEqual(manifest.layers.map((l: { mediaType: string }) => l.mediaType), [mt.OCI_LAYER_GZIP, mt.OCI_LAYER_GZIP]);
      checkRootfs(umociUnpack(layout, 'latest'));
    });

    it('extends an existing layout: other names stay, the same name is replaced, shared blobs are stored once', async () => {
      const img = await makeImage(work, mt.OCI_MANIFEST);
      const layout = path.join(work, 'oci');
      const d1 = await writeOciLayout(layout, img, 'one');
      const img2 = editConfig(img, (c) => { c.Cmd = ['true']; });
      const d2 = await writeOciLayout(layout, img2, 'two');
      const d3 = await writeOciLayout(layout, img2, 'one');
      assert.equal(d3.digest, d2.digest);
      const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
      assert.equal(index.mediaType, mt.OCI_INDEX);
      assert.deepEqual(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name']).sort(), ['one', 'two']);
      assert.ok(index.manifests.every((m: { digest: string }) => m.digest === d2.digest));
      assert.equal(inspect(`oci:${layout}:one`).Digest, d2.digest);
      assert.notEqual(d1.digest, d2.digest);
      // 2 layers + 2 configs + 2 manifests: layers not duplicated, no temp files left
      const blobs = fs.readdirSync(path.join(layout, 'blobs/sha256'));
      assert.equal(blobs.length, 6, blobs.join(' '));
      assert.deepEqual(fs.readdirSync(layout).sort(), ['blobs', 'index.json', 'oci-layout']);
    });

    it('a layer whose bytes do not match its digest is refused and leaves no blob', async () => {
      const img = await makeImage(work, mt.OCI_MANIFEST);
      const bad: Image = { ...img, layers: [{ ...img.layers[0], open: async () => Readable.from([Buffer.from('tampered')]) }, img.layers[1]] };
      const layout = path.join(work, 'oci');
      await assert.rejects(writeOciLayout(layout, bad, 'x'), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.ok(e.message.includes(img.layers[0].descriptor.digest));
        return true;
      });
      const hex = img.layers[0].descriptor.digest.split(':')[1];
      const left = fs.existsSync(path.join(layout, 'blobs/sha256')) ? fs.readdirSync(path.join(layout, 'blobs/sha256')) : [];
      assert.ok(!left.some((n) => n.startsWith(hex)), left.join(' '));
      assert.ok(!fs.existsSync(path.join(layout, 'index.json')));
    });

    it('a directory with a broken index.json is an error naming the file', async () => {
      const layout = path.join(work, 'oci');
      fs.mkdirSync(layout);
      fs.writeFileSync(path.join(layout, 'index.json'), '{not json');
      await assert.rejects(writeOciLayout(layout, await makeImage(work, mt.OCI_MANIFEST), 'x'), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.ok(e.message.includes(path.join(layout, 'index.json')));
        return true;
      });
    });
  });

  describe('docker-archive', () => {
    it('skopeo reads config, tags and layers; the content unpacks with umoci', async () => {
      const img = await makeImage(work, mt.DOCKER_MANIFEST);
      const tarFile = path.join(work, 'image.tar');
      await writeDockerArchive(tarFile, img, [parseReference('127.0.0.1:5000/team/app:1.0'), parseReference('example.com/app@sha256:' + 'a'.repeat(64))]);
      const listing = run('tar', ['-tf', tarFile]).trim().split('\n');
      const s = serializeImage(img);
      const hex = (d: string) => d.split(':')[1];
      assert.deepEqual(listing.sort(), [`${hex(s.configDescriptor.digest)}.json`, ...img.layers.map((l) => `${hex(l.descriptor.digest)}.tar.gz`), 'manifest.json'].sort());
      const manifest = JSON.parse(run('tar', ['-xOf', tarFile, 'manifest.json']));
      assert.deepEqual(manifest, [{
        Config: `${hex(s.configDescriptor.digest)}.json`,
        RepoTags: ['127.0.0.1:5000/team/app:1.0'],
        Layers: img.layers.map((l) => `${hex(l.descriptor.digest)}.tar.gz`),
      }]);
      assert.deepEqual(run('tar', ['-xOf', tarFile, `${hex(s.configDescriptor.digest)}.json`]), s.configBody.toString());
      const cfg = inspectConfig(`docker-archive:${tarFile}`);
      assert.deepEqual(cfg.config.Cmd, ['/app/run.sh']);
      assert.deepEqual(cfg.rootfs.diff_ids, img.config.rootfs.diff_ids);
      const info = inspect(`docker-archive:${tarFile}`);
      assert.equal(info.Layers.length, 2);
      const layout = path.join(work, 'copied');
      run('skopeo', ['copy', `docker-archive:${tarFile}`, `oci:${layout}:t`]);
      checkRootfs(umociUnpack(layout, 't'));
    });

    it('the same layer twice in one image is stored once', async () => {
      const img = await makeImage(work, mt.DOCKER_MANIFEST);
      const twice = appendLayer(img, img.layers[0], { created_by: 'again' });
      const tarFile = path.join(work, 'twice.tar');
      await writeDockerArchive(tarFile, twice, []);
      const listing = run('tar', ['-tf', tarFile]).trim().split('\n');
      assert.equal(listing.length, 4, listing.join(' '));
      const manifest = JSON.parse(run('tar', ['-xOf', tarFile, 'manifest.json']));
      assert.equal(manifest[0].Layers.length, 3);
      assert.deepEqual(manifest[0].RepoTags, []);
      assert.equal(inspectConfig(`docker-archive:${tarFile}`).rootfs.diff_ids.length, 3);
    });
  });
});
