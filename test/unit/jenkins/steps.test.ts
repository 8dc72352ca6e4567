// The shared library's steps run by Debian's groovy against a recorded `steps` object
// (test/unit/jenkins/steps-harness.groovy), one groovy process for all cases. The recorded `sh`
// scripts are then run by a real /bin/sh against a stand-in executor that writes out the argv it
// got, which proves the quoting: the words arrive exactly as given.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/testbed';

interface Call { step: string; script?: string; label?: string; file?: string; env?: string[]; DOCKER_CONFIG?: string }
interface Result { name: string; value?: unknown; error?: string; calls: Call[] }

/** A map whose key order the groovy side keeps (see the harness). */
const ordered = (o: Record<string, string>): unknown => ({ $map: Object.entries(o) });

const tricky = `a b "c" $X 'y' \`id\` \\n`;
const cases = [
  {
    name: 'full', step: 'drydockBuild', digest: 'sha256:0123abcd',
    args: {
      context: "/ws/my app/it's $HOME", dockerfile: 'docker/Dockerfile',
      destinations: ['reg.example.com:5000/team/app:1.0', 'reg.example.com:5000/team/app:latest'],
      buildArgs: ordered({ MSG: tricky, EMPTY: '' }), cache: true, cacheRepo: 'reg.example.com:5000/team/cache', target: 'runtime',
      labels: ordered({ 'org.opencontainers.image.title': 'My App' }), tarPath: 'out/image.tar', digestFile: '/ws/job@tmp/digest',
      extraArgs: ['--reproducible', '--build-arg=X=$(id)'],
    },
  },
  { name: 'defaults', step: 'drydockBuild', digest: 'sha256:feed', args: { destinations: 'reg.example.com/app:1' } },
  { name: 'noPush', step: 'drydockBuild', args: { noPush: true, context: '.', digestFile: '/t/d', buildArgs: ['A=1', 'B=two words', 'NPM_TOKEN'] } },
  { name: 'noDestination', step: 'drydockBuild', args: { context: '.' } },
  { name: 'unknown', step: 'drydockBuild', args: { destinations: ['r/a'], buildArg: { A: '1' } } },
  { name: 'extraDigestFile', step: 'drydockBuild', args: { noPush: true, digestFile: '/t/d', extraArgs: '--digest-file=/elsewhere' } },
  { name: 'badBuildArg', step: 'drydockBuild', args: { destinations: ['r/a'], buildArgs: ['NO EQUALS'] } },
  {
    name: 'creds', step: 'withDrydockCredentials',
    args: {
      configDir: '/home/jenkins/docker config', configs: ['s3://ci/config.json'],
      secrets: ordered({ 'registry.example.com': 'ssm:/ci/registry token' }), ecr: ['123456789012', '210987654321.dkr.ecr.eu-west-1.amazonaws.com'],
    },
  },
  { name: 'credsDefault', step: 'withDrydockCredentials', envDockerConfig: '/kaniko/.docker', args: { ecr: '123456789012' } },
  { name: 'credsUnknown', step: 'withDrydockCredentials', args: { region: 'x' } },
  {
    name: 'push', step: 'drydockPush', digest: 'sha256:beef',
    args: { path: "out/my image", destinations: ['reg.example.com/app:1', 'reg.example.com/app:latest'], extraArgs: ['--push-retry', '5'], digestFile: '/t/d' },
  },
  { name: 'pushNoPath', step: 'drydockPush', args: { destinations: ['r/a'] } },
  { name: 'pushNoDestination', step: 'drydockPush', args: { path: 'out' } },
  { name: 'pushUnknown', step: 'drydockPush', args: { path: 'out', destinations: ['r/a'], tag: 'x' } },
  { name: 'pushBadList', step: 'drydockPush', args: { path: 'out', destinations: ['r/a'], extraArgs: { retry: 5 } } },
];

describe('Jenkins shared library steps (groovy)', function () {
  this.timeout(60000);
  let results: Record<string, Result>;
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-jenkins-'));
    fs.writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(cases));
    const out = execFileSync('groovy', ['-cp', path.join(REPO_ROOT, 'jenkins/src'), path.join(REPO_ROOT, 'test/unit/jenkins/steps-harness.groovy'),
      path.join(REPO_ROOT, 'jenkins/vars'), path.join(dir, 'cases.json')], { encoding: 'utf8' });
    results = Object.fromEntries((JSON.parse(out) as Result[]).map((r) => [r.name, r]));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Run a recorded script with `stand-in` in place of the program and return the argv it got. */
  function argvOf(script: string, program: string): string[] {
    const fake = path.join(dir, 'fake');
    fs.writeFileSync(fake, '#!/bin/sh\nprintf \'%s\\0\' "$@" > "$ARGV_OUT"\n', { mode: 0o755 });
    const argvOut = path.join(dir, 'argv');
    assert.ok(script.startsWith(program + ' '), script);
    execFileSync('/bin/sh', ['-c', fake + script.slice(program.length)], { env: { ARGV_OUT: argvOut, HOME: '/nowhere', X: 'expanded!' } });
    return fs.readFileSync(argvOut, 'utf8').split('\0').slice(0, -1);
  }

  it('drydockBuild turns every parameter into the executor flags, quoted for sh', () => {
    const r = results.full;
    assert.equal(r.error, undefined);
    assert.equal(r.value, 'sha256:0123abcd');
    assert.deepEqual(r.calls.map((c) => c.step), ['sh', 'readFile']);
    assert.equal(r.calls[0].label, 'drydock build');
    assert.equal(r.calls[0].script,
      "/kaniko/executor --context '/ws/my app/it'\"'\"'s $HOME' --dockerfile docker/Dockerfile " +
      '--destination reg.example.com:5000/team/app:1.0 --destination reg.example.com:5000/team/app:latest ' +
      `--build-arg 'MSG=a b "c" $X '"'"'y'"'"' \`id\` \\n' --build-arg EMPTY= --cache=true ` +
      '--cache-repo reg.example.com:5000/team/cache --target runtime ' +
      "--label 'org.opencontainers.image.title=My App' --tar-path out/image.tar " +
      "--reproducible '--build-arg=X=$(id)' --digest-file /ws/job@tmp/digest");
    assert.deepEqual(r.calls[1], { step: 'readFile', file: '/ws/job@tmp/digest' });
  });

  it('drydockBuild values reach the executor byte for byte through sh', () => {
    assert.deepEqual(argvOf(results.full.calls[0].script as string, '/kaniko/executor'), [
      '--context', "/ws/my app/it's $HOME", '--dockerfile', 'docker/Dockerfile',
      '--destination', 'reg.example.com:5000/team/app:1.0', '--destination', 'reg.example.com:5000/team/app:latest',
      '--build-arg', `MSG=${tricky}`, '--build-arg', 'EMPTY=', '--cache=true', '--cache-repo', 'reg.example.com:5000/team/cache',
      '--target', 'runtime', '--label', 'org.opencontainers.image.title=My App', '--tar-path', 'out/image.tar',
      '--reproducible', '--build-arg=X=$(id)', '--digest-file', '/ws/job@tmp/digest',
    ]);
  });

  it('drydockBuild defaults: workspace context, Dockerfile, a digest file in @tmp', () => {
    const r = results.defaults;
    assert.equal(r.value, 'sha256:feed');
    assert.match(r.calls[0].script as string,
      /^\/kaniko\/executor --context \/ws\/job --dockerfile Dockerfile --destination reg\.example\.com\/app:1 --digest-file \/ws\/job@tmp\/drydock-digest-[0-9a-f-]{36}$/);
    assert.equal(r.calls[1].file, (r.calls[0].script as string).split(' ').pop());
  });

  it('drydockBuild with noPush needs no destination and takes KEY=VALUE lists, and names whose value comes from the environment', () => {
    assert.equal(results.noPush.calls[0].script,
      "/kaniko/executor --context . --dockerfile Dockerfile --build-arg A=1 --build-arg 'B=two words' --build-arg NPM_TOKEN --no-push --digest-file /t/d");
  });

  it('drydockBuild reads the digest file it named, whatever extraArgs say (its --digest-file comes last and wins)', () => {
    const r = results.extraDigestFile;
    assert.match(r.calls[0].script as string, / --digest-file=\/elsewhere --digest-file \/t\/d$/);
    assert.deepEqual(r.calls[1], { step: 'readFile', file: '/t/d' });
  });

  it('drydockBuild stops with clear messages on bad parameters', () => {
    assert.match(results.noDestination.error as string, /give destinations: .* or noPush: true/);
    assert.match(results.unknown.error as string, /unknown parameter\(s\) buildArg; expected some of context, dockerfile/);
    assert.match(results.badBuildArg.error as string, /buildArgs entry "NO EQUALS" must be KEY=VALUE, or a variable NAME whose value the executor takes from the environment/);
    for (const r of [results.noDestination, results.unknown, results.badBuildArg]) assert.deepEqual(r.calls, []);
  });

  it('drydockPush runs the executor\'s push command on the kept image and returns the digest', () => {
    const r = results.push;
    assert.equal(r.error, undefined);
    assert.equal(r.value, 'sha256:beef');
    assert.deepEqual(r.calls.map((c) => c.step), ['sh', 'readFile']);
    assert.equal(r.calls[0].label, 'drydock push');
    assert.deepEqual(argvOf(r.calls[0].script as string, '/kaniko/executor'), [
      'push', 'out/my image', '--destination', 'reg.example.com/app:1', '--destination', 'reg.example.com/app:latest',
      '--push-retry', '5', '--digest-file', '/t/d',
    ]);
    assert.match(results.pushNoPath.error as string, /drydockPush: give path:/);
    assert.match(results.pushNoDestination.error as string, /drydockPush: give destinations:/);
    assert.match(results.pushUnknown.error as string, /drydockPush: unknown parameter\(s\) tag/);
    assert.match(results.pushBadList.error as string, /drydockPush: extraArgs must be a string or a list of strings, not LinkedHashMap/);
    for (const c of ['pushNoPath', 'pushNoDestination', 'pushUnknown', 'pushBadList']) assert.deepEqual(results[c].calls, []);
  });

  it('withDrydockCredentials composes, then runs the body with DOCKER_CONFIG set', () => {
    const r = results.creds;
    assert.equal(r.error, undefined);
    assert.deepEqual(r.calls.map((c) => c.step), ['sh', 'withEnv', 'body', 'endWithEnv']);
    assert.equal(r.calls[0].script,
      "drydock creds compose --config-dir '/home/jenkins/docker config' --config s3://ci/config.json " +
      "--secret 'registry.example.com=ssm:/ci/registry token' --ecr 123456789012 --ecr 210987654321.dkr.ecr.eu-west-1.amazonaws.com");
    assert.equal(r.calls[0].label, 'drydock creds compose');
    assert.deepEqual(r.calls[1].env, ['DOCKER_CONFIG=/home/jenkins/docker config']);
    assert.equal(r.calls[2].DOCKER_CONFIG, '/home/jenkins/docker config');
    assert.deepEqual(argvOf(r.calls[0].script as string, 'drydock'), ['creds', 'compose', '--config-dir', '/home/jenkins/docker config',
      '--config', 's3://ci/config.json', '--secret', 'registry.example.com=ssm:/ci/registry token',
      '--ecr', '123456789012', '--ecr', '210987654321.dkr.ecr.eu-west-1.amazonaws.com']);
  });

  it('withDrydockCredentials defaults to the agent\'s DOCKER_CONFIG and rejects unknown parameters', () => {
    assert.equal(results.credsDefault.calls[0].script, 'drydock creds compose --config-dir /kaniko/.docker --ecr 123456789012');
    assert.match(results.credsUnknown.error as string, /withDrydockCredentials: unknown parameter\(s\) region/);
  });
});
