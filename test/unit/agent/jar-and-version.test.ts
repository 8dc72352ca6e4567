import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NotAJarError, parseManifest, readJarManifest, readRemotingVersion } from '../../../src/agent/jar-manifest';
import { compareRemotingVersions } from '../../../src/agent/remoting-version';
import { standinAgentJar } from '../../support/jenkins-standin';

describe('agent.jar manifest and remoting versions', () => {
  before(function () {
    this.timeout(60000); // javac compiles the stand-in once per run
    standinAgentJar('3283.v92c105e0f819');
  });

  it('reads Version from a jar built by the jar tool', async () => {
    const jar = standinAgentJar('3283.v92c105e0f819');
    assert.equal(await readRemotingVersion(jar), '3283.v92c105e0f819');
    assert.equal((await readJarManifest(jar))['Main-Class'], 'StandinAgent');
  });

  it('rejects a truncated jar and a file that is not a zip', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-jar-'));
    const jar = fs.readFileSync(standinAgentJar('4.13'));
    fs.writeFileSync(path.join(dir, 'cut.jar'), jar.subarray(0, jar.length - 30));
    fs.writeFileSync(path.join(dir, 'html.jar'), '<html>Jenkins login</html>');
    await assert.rejects(readJarManifest(path.join(dir, 'cut.jar')), NotAJarError);
    await assert.rejects(readJarManifest(path.join(dir, 'html.jar')), /not a zip file/);
  });

  it('joins manifest continuation lines and stops at the main section', () => {
    assert.deepEqual(parseManifest('Version: 1.2\r\nLong: abc\r\n def\r\n\r\nName: x\r\nVersion: 9\r\n'), { Version: '1.2', Long: 'abcdef' });
  });

  it('orders old dotted and new incremental remoting versions', () => {
    assert.ok(compareRemotingVersions('4.13', '3283.v92c105e0f819') < 0);
    assert.ok(compareRemotingVersions('3283.v92c105e0f819', '3256.v88a_f6e922152') > 0);
    assert.equal(compareRemotingVersions('3283.vabc', '3283.vdef'), 0);
    assert.ok(compareRemotingVersions('4.13.3', '4.13') > 0);
    assert.ok(compareRemotingVersions('4.9', '4.13') < 0);
  });
});
