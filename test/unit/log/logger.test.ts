// The logger: levels, text and JSON line formats, child fields, and redaction of whole lines.
import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Logger, parseFormat, parseLevel, registerSecret, type LoggerOptions } from '../../../src/log';

const SECRET = 'Lg7-logger-test-secret-value-93';

function capture(opts: LoggerOptions = {}) {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(...chunk.toString().split('\n').filter(Boolean)); cb(); } });
  return { log: new Logger({ ...opts, stream }), lines };
}

describe('log/logger', () => {
  before(() => registerSecret(SECRET));

  it('text: info lines bare, other levels prefixed, fields as key=value', () => {
    const { log, lines } = capture({ level: 'trace' });
    log.info('hello', { n: 1, s: 'str', o: { a: [1] } });
    log.warn('careful');
    log.error('bad');
    log.debug('dbg');
    log.trace('trc');
    assert.deepEqual(lines, ['hello n=1 s=str o={"a":[1]}', 'WARN careful', 'ERROR bad', 'DEBUG dbg', 'TRACE trc']);
  });

  it('levels: messages below the level are dropped', () => {
    const { log, lines } = capture({ level: 'warn' });
    log.trace('t'); log.debug('d'); log.info('i'); log.warn('w'); log.error('e');
    log.log('fatal', 'f');
    assert.deepEqual(lines, ['WARN w', 'ERROR e', 'FATAL f']);
    assert.equal(log.enabled('info'), false);
    assert.equal(log.enabled('error'), true);
    const def = capture();
    def.log.debug('hidden');
    def.log.info('shown');
    assert.deepEqual(def.lines, ['shown'], 'default level is info');
  });

  it('json: one object per line with time, level, msg and fields', () => {
    const { log, lines } = capture({ format: 'json' });
    const before = Date.now();
    log.info('built', { digest: 'sha256:abc', layers: 3 });
    log.warn('w');
    assert.equal(lines.length, 2);
    const o = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(o), ['time', 'level', 'msg', 'digest', 'layers']);
    assert.equal(o.level, 'info');
    assert.equal(o.msg, 'built');
    assert.equal(o.digest, 'sha256:abc');
    assert.equal(o.layers, 3);
    assert.ok(Date.parse(o.time) >= before - 1000 && Date.parse(o.time) <= Date.now());
    assert.equal(JSON.parse(lines[1]).level, 'warn');
  });

  it('timestamps prefix text lines with an ISO time', () => {
    const { log, lines } = capture({ timestamps: true });
    log.info('x');
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z x$/);
  });

  it('child loggers add fields and follow the parent configuration', () => {
    const { log, lines } = capture();
    const child = log.child({ component: 'registry' });
    const grandchild = child.child({ repo: 'a/b' });
    child.info('one');
    log.configure({ level: 'debug', format: 'json' });
    grandchild.debug('two', { extra: true });
    log.info('three');
    assert.equal(lines[0], 'one component=registry');
    assert.deepEqual(JSON.parse(lines[1]), { ...JSON.parse(lines[1]), level: 'debug', msg: 'two', component: 'registry', repo: 'a/b', extra: true });
    assert.ok(!('component' in JSON.parse(lines[2])), 'the parent has no child fields');
  });

  it('configure changes only what it is given', () => {
    const { log } = capture({ level: 'warn', format: 'json', timestamps: true });
    log.configure({ level: 'error' });
    assert.equal(log.level, 'error');
    assert.equal(log.format, 'json');
    assert.equal(log.timestamps, true);
    log.configure({ timestamps: false });
    assert.equal(log.timestamps, false);
  });

  it('every line is redacted: message and fields, text and json', () => {
    for (const format of ['text', 'json'] as const) {
      const { log, lines } = capture({ format });
      log.info(`using ${SECRET}`, { url: 'https://u:pw-xyz@reg/v2/', header: 'Authorization: Bearer tok123', token: SECRET });
      const all = lines.join('\n');
      for (const leak of [SECRET, 'pw-xyz', 'tok123']) assert.ok(!all.includes(leak), `${format}: ${leak} leaked in ${all}`);
      if (format === 'json') JSON.parse(lines[0]);
    }
  });

  it('parseLevel and parseFormat', () => {
    assert.equal(parseLevel('DEBUG'), 'debug');
    assert.equal(parseLevel('panic'), 'panic');
    assert.throws(() => parseLevel('verbose'), /invalid verbosity "verbose"/);
    assert.equal(parseFormat('color'), 'color');
    assert.throws(() => parseFormat('xml'), /invalid log format "xml"/);
  });
});
