// Secrets never leave the process: registered values (and their base64 forms) and well-known
// secret shapes are masked in every log line and error message.
import * as assert from 'node:assert/strict';
import { UserError, describeError, redact, redactHeaders, registerSecret } from '../../../src/log';

// registered secrets are process-wide: use values that cannot appear in other suites' output
const SECRET = 'Zq8-redact-test-secret-value-41';

describe('log/redact', () => {
  before(() => registerSecret(SECRET));

  it('masks a registered secret wherever it appears', () => {
    assert.equal(redact(`token is ${SECRET}, again:${SECRET}!`), 'token is ***, again:***!');
  });

  it('masks the base64 form of a registered secret (Basic headers, config.json auth)', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    assert.equal(redact(`stored ${b64} here`), 'stored *** here');
  });

  it('ignores values too short to mask and empty values', () => {
    registerSecret('abc');
    registerSecret('');
    registerSecret(undefined);
    registerSecret(null);
    assert.equal(redact('abc abcdef'), 'abc abcdef');
  });

  it('masks Authorization headers even when the value is unregistered', () => {
    assert.equal(redact('Authorization: Basic dXNlcjpwYXNz'), 'Authorization: Basic ***');
    assert.equal(redact('authorization=Bearer eyJhbGciOi.payload.sig next'), 'authorization=Bearer *** next');
    assert.equal(redact('AUTHORIZATION: "bearer abc123"'), 'AUTHORIZATION: "bearer ***"');
  });

  it('masks the password of a URL, keeping user and host', () => {
    assert.equal(redact('pulling https://robot:s3cr3tpw@registry.example:5000/v2/'), 'pulling https://robot:***@registry.example:5000/v2/');
    assert.equal(redact('git clone http://u:p4ss@h/r.git'), 'git clone http://u:***@h/r.git');
    assert.equal(redact('https://registry.example:5000/v2/'), 'https://registry.example:5000/v2/', 'a port is no password');
  });

  it('masks password-like JSON and key=value fields', () => {
    assert.equal(redact('{"username":"u","password":"hunter22"}'), '{"username":"u","password":"***"}');
    assert.equal(redact('{"auth":"dXNlcjpwYXNz","identitytoken":"tok-1"}'), '{"auth":"***","identitytoken":"***"}');
    assert.equal(redact('secretAccessKey=wJalrXUtnFEMI/K7MDENG token=abc'), 'secretAccessKey=*** token=***');
    assert.equal(redact('AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG AWS_SESSION_TOKEN=IQoJb3JpZ2lu GIT_TOKEN=ghp_x DB_PASSWORD: hunter2 AWS_REGION=eu-west-1'),
      'AWS_SECRET_ACCESS_KEY=*** AWS_SESSION_TOKEN=*** GIT_TOKEN=*** DB_PASSWORD: *** AWS_REGION=eu-west-1');
    assert.equal(redact('{"access_token": "at", "refresh_token":"rt"}'), '{"access_token": "***", "refresh_token":"***"}');
  });

  it('masks AWS presigned URL signatures and credentials', () => {
    const url = 'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAEXAMPLE%2F20240101&X-Amz-Signature=' + 'ab'.repeat(32) + '&X-Amz-Security-Token=FQoGZX';
    const out = redact(url);
    assert.ok(!out.includes('AKIAEXAMPLE'));
    assert.ok(!out.includes('ab'.repeat(32)));
    assert.ok(!out.includes('FQoGZX'));
    assert.equal(redact('Signature=' + 'c'.repeat(64)), 'Signature=***');
  });

  it('leaves ordinary text alone', () => {
    const text = 'STEP 3/7: COPY --chown=1000:1000 app /app (password-less build, auth ok)';
    assert.equal(redact(text), text);
  });

  it('redactHeaders masks sensitive headers by name and redacts the others', () => {
    assert.deepEqual(redactHeaders({
      Authorization: 'Bearer x', 'proxy-authorization': 'Basic y', Cookie: 'a=b', 'X-Amz-Security-Token': 't',
      Location: `https://u:pw123@h/p?tok=${SECRET}`, Accept: ['a', 'b'], Skipped: undefined,
    }), {
      Authorization: '***', 'proxy-authorization': '***', Cookie: '***', 'X-Amz-Security-Token': '***',
      Location: 'https://u:***@h/p?tok=***', Accept: 'a, b',
    });
  });

  it('UserError messages and describeError are redacted', () => {
    const e = new UserError(`login to reg failed with ${SECRET}`, { exitCode: 3 });
    assert.equal(e.message, 'login to reg failed with ***');
    assert.equal(e.exitCode, 3);
    assert.equal(e.name, 'UserError');
    assert.equal(new UserError('x').exitCode, 1);
    assert.equal(describeError(new Error(`boom ${SECRET}`)), 'boom ***');
    assert.equal(describeError(`thrown string ${SECRET}`), 'thrown string ***');
  });
});
