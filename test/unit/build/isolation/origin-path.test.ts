import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { originPathEntry } from '../../../../src/build/isolation/origin-path';

describe('build/isolation/origin-path', () => {
  let root: string;
  const file = (p: string) => {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), '');
  };
  const link = (p: string, target: string) => {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.symlinkSync(target, path.join(root, p));
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-origin-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('names the directory of $JAVA_HOME/bin/java', () => {
    file('opt/java/openjdk/bin/java');
    file('usr/bin/java'); // JAVA_HOME comes first
    assert.equal(originPathEntry(root, ['PATH=/usr/bin', 'JAVA_HOME=/opt/java/openjdk']), 'LD_ORIGIN_PATH=/opt/java/openjdk/bin');
  });

  it('follows the java on PATH through links inside the image (Debian alternatives, absolute and relative)', () => {
    file('usr/lib/jvm/java-17-openjdk-amd64/bin/java');
    link('usr/lib/jvm/default-java', 'java-17-openjdk-amd64');
    link('etc/alternatives/java', '/usr/lib/jvm/default-java/bin/java');
    link('usr/bin/java', '../../etc/alternatives/java');
    assert.equal(originPathEntry(root, ['PATH=/usr/local/bin:/usr/bin:/bin']), 'LD_ORIGIN_PATH=/usr/lib/jvm/java-17-openjdk-amd64/bin');
    // a JAVA_HOME without a java in it does not stop the search
    assert.equal(originPathEntry(root, ['JAVA_HOME=/nowhere', 'PATH=/usr/bin']), 'LD_ORIGIN_PATH=/usr/lib/jvm/java-17-openjdk-amd64/bin');
  });

  it('never leaves the root: an absolute link restarts at the image root', () => {
    link('usr/bin/java', '/usr/bin/java-real');
    // the host has no say: /usr/bin/java-real exists only if the image has it
    assert.equal(originPathEntry(root, ['PATH=/usr/bin']), undefined);
    file('usr/bin/java-real');
    assert.equal(originPathEntry(root, ['PATH=/usr/bin']), 'LD_ORIGIN_PATH=/usr/bin');
  });

  it('gives nothing without a java, for a directory named java, or when the step sets the variable itself', () => {
    assert.equal(originPathEntry(root, ['PATH=/usr/bin:/bin']), undefined);
    fs.mkdirSync(path.join(root, 'bin/java'), { recursive: true });
    assert.equal(originPathEntry(root, ['PATH=/bin']), undefined);
    file('usr/bin/java');
    assert.equal(originPathEntry(root, ['PATH=/usr/bin', 'LD_ORIGIN_PATH=/mine']), undefined);
    assert.equal(originPathEntry(root, ['PATH=relative/bin:/usr/bin']), 'LD_ORIGIN_PATH=/usr/bin');
    link('loop/java', '/loop/java');
    assert.equal(originPathEntry(root, ['PATH=/loop:/usr/bin']), 'LD_ORIGIN_PATH=/usr/bin');
  });
});
