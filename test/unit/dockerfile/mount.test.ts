// parseMountSpec at execution time (with expansion), CSV quoting, and Go durations.
import assert from 'node:assert/strict';
import { expandWord, parseGoDuration, parseMountSpec } from '../../../src/dockerfile';
import { splitCsvFields } from '../../../src/dockerfile/mount';

describe('dockerfile/mount', () => {
  it('expands each field value when given an expander', () => {
    const vars: Record<string, string> = { DIR: '/cache', UID: '1000', KIND: 'cache' };
    const spec = parseMountSpec('type=$KIND,target=${DIR}/go,uid=$UID,gid=${GID:-10}', (w) => expandWord(w, (n) => vars[n]));
    assert.deepEqual(spec, { type: 'cache', target: '/cache/go', uid: 1000, gid: 10, readonly: false, required: false });
  });
  it('validates expanded values', () => {
    assert.throws(() => parseMountSpec('type=cache,target=/x,uid=$U', (w) => w.replace('$U', 'abc')), /--mount uid=abc .* is not a decimal number, expected uid=1000/);
  });
  it('reads CSV-quoted fields', () => {
    assert.deepEqual(splitCsvFields('type=bind,"source=a,b",target=/x'), ['type=bind', 'source=a,b', 'target=/x']);
    assert.deepEqual(splitCsvFields('"a ""q"""'), ['a "q"']);
    assert.throws(() => splitCsvFields('"open'), /unterminated quote/);
    assert.equal(parseMountSpec('"target=/a,b"').target, '/a,b');
  });
  it('accepts Go booleans and the bare required key', () => {
    assert.equal(parseMountSpec('type=cache,target=/c,readonly=1').readonly, true);
    assert.equal(parseMountSpec('type=bind,target=/c,rw=True').readonly, false);
    assert.equal(parseMountSpec('type=ssh,required=false').required, false);
    assert.equal(parseMountSpec('type=secret,id=a,required').required, true);
    assert.equal(parseMountSpec('type=secret,id=a,env=TOKEN').env, 'TOKEN');
  });
});

describe('dockerfile/duration', () => {
  it('parses Go durations to nanoseconds', () => {
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('30s'), 30e9);
    assert.equal(parseGoDuration('1h2m3s'), 3723e9);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.equal(parseGoDuration('250ms'), 250e6);
    assert.equal(parseGoDuration('10us'), 10e3);
    assert.equal(parseGoDuration('-1s'), -1e9);
  });
  it('rejects strings without units', () => {
    for (const bad of ['', '5', 's', '1x', '1s2']) assert.throws(() => parseGoDuration(bad), /invalid duration/, bad);
  });
});
