import { strict as assert } from 'node:assert';
import { isSignal, parsePorts } from '../../../src/build/instructions/metadata';

describe('build/instructions/metadata', () => {
  it('EXPOSE: ports with their protocol, ranges expanded as Docker\'s nat.ParsePortSpecs does', () => {
    assert.deepEqual(parsePorts(['80', '8000-8002/udp', '443/TCP'], 'Dockerfile:3'), ['80/tcp', '8000/udp', '8001/udp', '8002/udp', '443/tcp']);
    assert.throws(() => parsePorts(['abc'], 'Dockerfile:3'), /^UserError: Dockerfile:3: invalid port "abc", expected PORT\[-PORT\]\[\/tcp\|udp\|sctp\]$/);
    assert.throws(() => parsePorts(['90-80'], 'Dockerfile:3'), /invalid port range "90-80"/);
  });

  it('STOPSIGNAL: a number other than 0, or a Linux signal name in any case, with or without SIG (moby\'s ParseSignal)', () => {
    for (const ok of ['SIGTERM', 'TERM', 'sigquit', 'SIGRTMIN+3', 'RTMAX-1', '9', '37', 'SIGWINCH']) assert.ok(isSignal(ok), ok);
    for (const bad of ['FOO', 'SIGFOO', '0', '', 'SIG', 'SIGRTMIN+16', '-1', '9x']) assert.ok(!isSignal(bad), bad);
  });
});
