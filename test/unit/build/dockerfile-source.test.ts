// Finding the Dockerfile as kaniko does: absolute as is; relative in the context, then the cwd.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDockerfile } from '../../../src/build/dockerfile-source';
import { UserError } from '../../../src/log';
import { tmpDir } from '../../support/testbed';

describe('build/dockerfile-source', () => {
  let ctx: string;
  let cwd: string;
  const oldCwd = process.cwd();
  beforeEach(() => {
    ctx = tmpDir('drydock-dfctx-');
    cwd = tmpDir('drydock-dfcwd-');
    fs.mkdirSync(path.join(ctx, 'sub'));
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM ctx\n');
    fs.writeFileSync(path.join(ctx, 'sub/Dockerfile.dev'), 'FROM sub\n');
    fs.writeFileSync(path.join(cwd, 'Only.cwd'), 'FROM cwd\n');
    fs.writeFileSync(path.join(cwd, 'Dockerfile'), 'FROM cwd-shadowed\n');
    process.chdir(cwd);
  });
  afterEach(() => {
    process.chdir(oldCwd);
    for (const d of [ctx, cwd]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a relative path is looked up in the context first', () => {
    const d = loadDockerfile('Dockerfile', ctx);
    assert.equal(d.text, 'FROM ctx\n');
    assert.equal(d.path, path.join(ctx, 'Dockerfile'));
    assert.equal(d.displayName, 'Dockerfile');
  });

  it('a sub-path and ./ prefix; the display name drops ./', () => {
    const d = loadDockerfile('./sub/Dockerfile.dev', ctx);
    assert.equal(d.text, 'FROM sub\n');
    assert.equal(d.displayName, 'sub/Dockerfile.dev');
  });

  it('then relative to the working directory', () => {
    const d = loadDockerfile('Only.cwd', ctx);
    assert.equal(d.text, 'FROM cwd\n');
    assert.equal(fs.realpathSync(d.path), fs.realpathSync(path.join(cwd, 'Only.cwd')));
  });

  it('an absolute path is used as is', () => {
    const abs = path.join(cwd, 'Only.cwd');
    const d = loadDockerfile(abs, ctx);
    assert.equal(d.text, 'FROM cwd\n');
    assert.equal(d.displayName, abs);
  });

  it('a directory is not a Dockerfile; a missing file is an error naming both places', () => {
    assert.throws(() => loadDockerfile('sub', ctx), UserError);
    assert.throws(() => loadDockerfile('Nope', ctx), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.ok(e.message.includes('Dockerfile not found: Nope'));
      assert.ok(e.message.includes(path.join(ctx, 'Nope')));
      assert.ok(e.message.includes(path.join(cwd, 'Nope')) || e.message.includes(path.join(fs.realpathSync(cwd), 'Nope')));
      return true;
    });
    assert.throws(() => loadDockerfile('/no/such/Dockerfile', ctx), /Dockerfile not found: \/no\/such\/Dockerfile \(looked in \/no\/such\/Dockerfile\)/);
  });
});
