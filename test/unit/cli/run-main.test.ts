import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// runMain in a process of its own, with a command whose promise does what `body` says
function runWith(body: string): { status: number | null; stderr: string } {
  const runMain = path.resolve(__dirname, '../../../src/cli/run-main.js');
  const script = `require(${JSON.stringify(runMain)}).runMain(async () => { ${body} }, []);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stderr: r.stderr };
}

describe('cli/run-main', () => {
  it('exits with the command\'s code', () => {
    assert.equal(runWith('return 3;').status, 3);
    assert.equal(runWith('await new Promise((r) => setTimeout(r, 50)); return 0;').status, 0);
  });

  it('a command that waits for what can no longer happen fails (70) instead of ending with 0', () => {
    // a promise nothing will settle, and nothing left to run: Node would end the process with 0
    const r = runWith('await new Promise(() => {}); return 0;');
    assert.equal(r.status, 70);
    assert.match(r.stderr, /internal error: the command stopped waiting .* it did not finish/);
  });

  it('a user error exits with its code and message, an unexpected one with 70', () => {
    const logPath = path.resolve(__dirname, '../../../src/log/index.js');
    const user = runWith(`const { UserError } = require(${JSON.stringify(logPath)}); throw new UserError('bad flag', { exitCode: 2 });`);
    assert.equal(user.status, 2);
    assert.match(user.stderr, /bad flag/);
    const other = runWith("throw new TypeError('boom');");
    assert.equal(other.status, 70);
    assert.match(other.stderr, /internal error: .*boom/);
  });
});
