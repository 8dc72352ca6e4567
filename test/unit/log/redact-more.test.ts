import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Logger, redact, registerSecret } from '../../../src/log';
describe('redact: passwords in URLs, JSON headers and JSON logs', () => {
  it('URL password with / (base64 tokens)', () => {
    const out = redact('https://robot:ab/cd+ef==@registry.example/v2/');
    assert.ok(!out.includes('ab/cd'), out);
  });
  it('URL password with @', () => {
    const out = redact('https://robot:p@ssw0rd@registry.example/v2/');
    assert.ok(!out.includes('ssw0rd'), out);
  });
  it('JSON Authorization header', () => {
    const out = redact('{"Authorization":"Bearer eyJtok.en.sig"}');
    assert.ok(!out.includes('eyJtok'), out);
  });
  it('json log of a secret with a quote or backslash', () => {
    const s = 'Qt5"quoted\\secret-pass';
    registerSecret(s);
    const lines: string[] = [];
    const log = new Logger({ format: 'json', stream: new Writable({ write(c, _e, cb) { lines.push(c.toString()); cb(); } }) });
    log.info(`pw is ${s}`);
    assert.ok(!JSON.parse(lines[0]).msg.includes('quoted'), lines[0]);
  });
});
