// USER and COPY --chown name resolution against a stage's own /etc files (never the host's).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needsNameLookup, readGroups, readPasswd, resolveChown, resolveGroup, resolveUser } from '../../../src/build/users';
import { UserError } from '../../../src/log';
import { tmpDir } from '../../support/testbed';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment line',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'app:x:1000:1001:App User:/home/app:/bin/sh',
  'nohome:x:1002:1002',
  'broken:x:notanumber:1:::',
  '',
].join('\n');
const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'appgrp:x:1001:',
  'nohome:x:1002:',
  'docker:x:2000:app,daemon',
  'video:x:44:app',
  'staff:x:50:',
  '',
].join('\n');

function makeRoot(etcDir = 'etc'): string {
  const root = path.join(tmpDir('drydock-users-'), 'rootfs');
  fs.mkdirSync(path.join(root, etcDir), { recursive: true });
  fs.writeFileSync(path.join(root, etcDir, 'passwd'), PASSWD);
  fs.writeFileSync(path.join(root, etcDir, 'group'), GROUP);
  return root;
}

function userError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `${JSON.stringify(e.message)} should mention ${JSON.stringify(p)}`);
    return true;
  });
}

describe('build/users', () => {
  let root: string;
  beforeEach(() => { root = makeRoot(); });
  afterEach(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

  describe('reading the image files', () => {
    it('skips comments, blank lines and entries with non-numeric ids', () => {
      assert.deepEqual(readPasswd(root).map((e) => e.name), ['root', 'daemon', 'app', 'nohome']);
      assert.equal(readPasswd(root).find((e) => e.name === 'nohome')?.home, '/');
      assert.deepEqual(readGroups(root).find((g) => g.name === 'docker'), { name: 'docker', gid: 2000, members: ['app', 'daemon'] });
    });
    it('a root without the files yields no entries', () => {
      const empty = tmpDir('drydock-users-empty-');
      assert.deepEqual(readPasswd(empty), []);
      assert.deepEqual(readGroups(empty), []);
    });
  });

  describe('resolveUser (USER)', () => {
    it('a name takes uid, primary gid, home and supplementary groups from the image', () => {
      assert.deepEqual(resolveUser(root, 'app', 'Dockerfile:3'), { uid: 1000, gid: 1001, groups: [1001, 2000, 44], home: '/home/app' });
    });
    it('a numeric uid found in passwd is treated like its name', () => {
      assert.deepEqual(resolveUser(root, '1000', 'w'), { uid: 1000, gid: 1001, groups: [1001, 2000, 44], home: '/home/app' });
    });
    it('a numeric uid that is not in passwd gets gid 0 and home /', () => {
      assert.deepEqual(resolveUser(root, '4242', 'w'), { uid: 4242, gid: 0, groups: [0], home: '/' });
      assert.deepEqual(resolveUser(null, '4242', 'w'), { uid: 4242, gid: 0, groups: [0], home: '/' });
    });
    it('user:group by name and by number override the primary gid, and are then the only group (runc\'s GetExecUser)', () => {
      assert.deepEqual(resolveUser(root, 'app:staff', 'w').gid, 50);
      assert.deepEqual(resolveUser(root, 'app:staff', 'w').groups, [50]);
      assert.deepEqual(resolveUser(root, 'app:44', 'w').groups, [44]);
      assert.deepEqual(resolveUser(root, 'app:', 'w').groups, [1001, 2000, 44]);
      assert.deepEqual(resolveUser(root, '1000:7', 'w').gid, 7);
      assert.deepEqual(resolveUser(root, 'daemon:', 'w').gid, 1);
      assert.deepEqual(resolveUser(null, '5:6', 'w'), { uid: 5, gid: 6, groups: [6], home: '/' });
    });
    it('an unknown name is an error naming the place, the user and /etc/passwd', () => {
      userError(() => resolveUser(root, 'ghost', 'Dockerfile:7'), 'Dockerfile:7', 'ghost', '/etc/passwd');
      userError(() => resolveUser(null, 'app', 'Dockerfile:7'), 'app');
    });
    it('an unknown group is an error naming the group and /etc/group', () => {
      userError(() => resolveUser(root, 'app:nogroup', 'Dockerfile:9'), 'Dockerfile:9', 'nogroup', '/etc/group');
    });
    it('never reads the host /etc when the image has no passwd (host has root)', () => {
      userError(() => resolveUser(tmpDir('drydock-users-empty-'), 'root', 'w'), 'root');
    });
  });

  describe('resolveChown (COPY --chown)', () => {
    it('numbers need no files', () => {
      assert.deepEqual(resolveChown(null, '10:20', 'w'), { uid: 10, gid: 20 });
    });
    it('without a group: a bare uid is also the gid; a name takes its primary group (BuildKit, buildah)', () => {
      assert.deepEqual(resolveChown(null, '10', 'w'), { uid: 10, gid: 10 });
      assert.deepEqual(resolveChown(root, 'app', 'w'), { uid: 1000, gid: 1001 });
      assert.deepEqual(resolveChown(root, 'app:', 'w'), { uid: 1000, gid: 1001 });
    });
    it('names from the image files, mixed with numbers', () => {
      assert.deepEqual(resolveChown(root, 'app:docker', 'w'), { uid: 1000, gid: 2000 });
      assert.deepEqual(resolveChown(root, '33:video', 'w'), { uid: 33, gid: 44 });
      assert.deepEqual(resolveChown(root, 'daemon:0', 'w'), { uid: 1, gid: 0 });
    });
    it('unknown names are errors naming the spec', () => {
      userError(() => resolveChown(root, 'ghost:docker', 'Dockerfile:4'), 'Dockerfile:4', '--chown=ghost:docker', 'ghost');
      userError(() => resolveChown(root, 'app:ghosts', 'Dockerfile:4'), 'Dockerfile:4', '--chown=app:ghosts', 'ghosts');
      userError(() => resolveChown(root, 'ghost', 'Dockerfile:6', 'USER ghost'), 'Dockerfile:6: USER ghost', 'ghost');
    });
  });

  it('resolveGroup: numbers as is, names from /etc/group', () => {
    assert.equal(resolveGroup(null, '12', 'w'), 12);
    assert.equal(resolveGroup(root, 'docker', 'w'), 2000);
    userError(() => resolveGroup(null, 'docker', 'w'), 'docker');
  });

  it('needsNameLookup is true only when a part is a name', () => {
    assert.equal(needsNameLookup('1000'), false);
    assert.equal(needsNameLookup('1000:1000'), false);
    assert.equal(needsNameLookup('1000:'), false);
    assert.equal(needsNameLookup('app'), true);
    assert.equal(needsNameLookup('1000:staff'), true);
    assert.equal(needsNameLookup('app:0'), true);
  });

  describe('/etc as a symlink inside the root', () => {
    it('a relative link (etc -> private/etc) is followed inside the root', () => {
      const r = makeRoot('private/etc');
      fs.symlinkSync('private/etc', path.join(r, 'etc'));
      assert.equal(resolveUser(r, 'app', 'w').uid, 1000);
    });
    it('an absolute link (etc -> /private/etc) is resolved against the root, not the host', () => {
      const r = makeRoot('private/etc');
      fs.symlinkSync('/private/etc', path.join(r, 'etc'));
      assert.equal(resolveChown(r, 'app:docker', 'w').gid, 2000);
    });
    it('passwd itself a link (etc/passwd -> ../data/passwd)', () => {
      const r = makeRoot('data');
      fs.mkdirSync(path.join(r, 'etc'));
      fs.symlinkSync('../data/passwd', path.join(r, 'etc/passwd'));
      fs.symlinkSync('/data/group', path.join(r, 'etc/group'));
      assert.deepEqual(resolveUser(r, 'app', 'w').groups, [1001, 2000, 44]);
    });
    it('a link climbing out with .. does not reach the host /etc', () => {
      const r = path.join(tmpDir('drydock-users-'), 'rootfs');
      fs.mkdirSync(r);
      fs.symlinkSync('../../../../../../../../etc', path.join(r, 'etc'));
      userError(() => resolveUser(r, 'root', 'w'), 'root');
    });
  });

  describe('links never lead out of the root', () => {
    it('a link to a sibling directory whose name starts with the root name stays out', () => {
      const r = path.join(tmpDir('drydock-users-'), 'rootfs');
      fs.mkdirSync(r);
      const sibling = `${r}-evil/etc`;
      fs.mkdirSync(sibling, { recursive: true });
      fs.writeFileSync(path.join(sibling, 'passwd'), 'evil:x:666:666::/:/bin/sh\n');
      fs.symlinkSync('../rootfs-evil/etc', path.join(r, 'etc'));
      userError(() => resolveUser(r, 'evil', 'w'), 'evil');
    });
    it('an absolute link through another absolute link (etc -> /lnk/etc, lnk -> /) stays in the root', () => {
      const r = path.join(tmpDir('drydock-users-'), 'rootfs');
      fs.mkdirSync(r);
      fs.symlinkSync('/', path.join(r, 'lnk'));
      fs.symlinkSync('/lnk/etc', path.join(r, 'etc'));
      userError(() => resolveUser(r, 'root', 'w'), 'root');
    });
  });
});
