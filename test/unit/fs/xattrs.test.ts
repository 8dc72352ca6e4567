import * as assert from 'node:assert/strict';
import { which } from '../../../src/build/isolation/host-tools';
import { keptXattr, parseDump, readXattrs } from '../../../src/fs/xattrs';

describe('fs/xattrs', () => {
  it('keeps capabilities, user.* and ACLs; drops trusted.* and host labels', () => {
    for (const k of ['security.capability', 'user.a', 'system.posix_acl_access', 'system.posix_acl_default']) assert.ok(keptXattr(k), k);
    for (const k of ['trusted.overlay.opaque', 'security.selinux', 'security.ima', 'system.nfs4_acl']) assert.ok(!keptXattr(k), k);
  });

  it('parses getfattr dumps: octal and backslash escapes, UTF-8 names, hex and quoted values', () => {
    const out = new Map<string, Record<string, Buffer>>();
    parseDump([
      '# file: /r/a\\\\b\\012c \\303\\274',
      'security.capability=0x0100000200200000000000000000000000000000',
      'security.selinux=0x73797374656d',
      'user.text="plain"',
      'user.empty',
      '',
      '# file: /r/only-trusted',
      'trusted.overlay.origin=0x00',
      '',
    ].join('\n'), out);
    assert.deepEqual([...out.keys()], ['/r/a\\b\nc ü']);
    assert.deepEqual(out.get('/r/a\\b\nc ü'), {
      'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex'),
      'user.text': Buffer.from('plain'),
      'user.empty': Buffer.alloc(0),
    });
  });

  it('leaves out paths that vanished and reports a tool that cannot run', () => {
    const tool = which('getfattr');
    assert.ok(tool, 'getfattr (package attr) is installed by test/support/install-deps.sh');
    assert.equal(readXattrs(tool, ['/nonexistent/drydock-x']).size, 0);
    assert.throws(() => readXattrs('/nonexistent/getfattr', ['/']), /cannot run \/nonexistent\/getfattr/);
  });
});
