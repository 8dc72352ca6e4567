import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { IgnoreList, mountPointsFromMountinfo, parseMountinfo } from '../../../src/fs/ignore';

describe('fs/ignore', () => {
  it('ignores a path and everything below it, on whole components', () => {
    const l = new IgnoreList(['/workspace', '/proc/', '/kaniko']);
    assert.ok(l.ignores('/workspace'));
    assert.ok(l.ignores('/workspace/src/a.ts'));
    assert.ok(l.ignores('/proc/self/status'));
    assert.ok(!l.ignores('/workspace2'));
    assert.ok(!l.ignores('/work'));
    assert.ok(!l.ignores('/'));
    assert.ok(l.ignores('/kaniko/../workspace/x'), 'paths are normalized first');
    assert.deepEqual(l.paths, ['/kaniko', '/proc', '/workspace']);
  });

  it('knows whether something ignored lies below a directory', () => {
    const l = new IgnoreList(['/var/run/secrets']);
    assert.ok(l.hasIgnoredBelow('/var'));
    assert.ok(l.hasIgnoredBelow('/'));
    assert.ok(!l.hasIgnoredBelow('/var/run/secrets'));
    assert.ok(!l.hasIgnoredBelow('/usr'));
  });

  it('rejects relative paths', () => {
    assert.throws(() => new IgnoreList(['workspace']), /must be absolute/);
  });

  it('parses mountinfo with optional fields and escaped names', () => {
    const text = [
      '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
      '37 36 0:5 / /proc rw,nosuid - proc proc rw',
      '38 36 8:1 /data /mnt/with\\040space\\011tab\\134slash rw shared:2 master:3 - ext4 /dev/sda1 rw',
      '',
    ].join('\n');
    assert.deepEqual(mountPointsFromMountinfo(text), ['/mnt2', '/proc', '/mnt/with space\ttab\\slash']);
    const m = parseMountinfo(text);
    assert.equal(m[0].fsType, 'ext3');
    assert.equal(m[0].source, '/dev/root');
    assert.equal(m[2].root, '/data');
    assert.equal(m[2].fsType, 'ext4');
  });

  it('names the bad line of a malformed mountinfo', () => {
    assert.throws(() => parseMountinfo('1 2 3:4 / /x rw - ext4 /dev/a rw\ngarbage line'), /line 2/);
  });

  it('parses this machine\'s own mountinfo', () => {
    const mounts = mountPointsFromMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    assert.ok(mounts.includes('/'));
  });
});
