import { strict as assert } from 'node:assert';
import { identityMap } from '../../../../src/build/isolation/user-namespace';

describe('build/isolation/user-namespace', () => {
  it('maps every ID range of ours to itself', () => {
    // root on a host: everything
    assert.equal(identityMap('         0          0 4294967295\n'), '0 0 4294967295\n');
    // a container in a user namespace: only its own IDs (0-65535 here), never the host's numbers
    assert.equal(identityMap('0 100000 65536\n'), '0 0 65536\n');
    assert.equal(identityMap('0 1000 1\n1 100000 65536\n'), '0 0 1\n1 1 65536\n');
  });

  it('refuses a map without ranges', () => {
    assert.throws(() => identityMap(''), /no ID ranges/);
    assert.throws(() => identityMap('0 0\n'), /no ID ranges/);
  });
});
