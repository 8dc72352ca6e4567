// kaniko's executor flags → BuildOptions. Expected values follow kaniko's documented flags and
// Go's pflag conventions (booleans take `--flag`, `--flag=true|false|1|0|t|f`).
import * as assert from 'node:assert/strict';
import { parseBool, parseBuildArgs, parseGoDuration } from '../../../src/cli/build';
import { defaultBuildOptions, type BuildOptions } from '../../../src/build/options';
import { UserError, log } from '../../../src/log';

const D = ['--destination', 'reg.example/app:1'];

function parse(args: string[], env: NodeJS.ProcessEnv = {}): BuildOptions {
  const o = parseBuildArgs(args, env);
  assert.ok(o, 'expected options, got null (help)');
  return o;
}

/** Asserts a UserError whose message contains every `parts`. */
function throwsUser(fn: () => unknown, ...parts: string[]): UserError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof UserError, `expected a UserError, got ${err === undefined ? 'no error' : String(err)}`);
  for (const p of parts) assert.ok(err.message.includes(p), `message ${JSON.stringify(err.message)} should mention ${JSON.stringify(p)}`);
  return err;
}

describe('cli/build parseBuildArgs', () => {
  // parseBuildArgs configures the process-wide logger: put it back for the other suites
  afterEach(() => log.configure({ level: 'info', format: 'text', timestamps: false }));

  it('uses kaniko defaults when only a destination is given', () => {
    const o = parse(D);
    const d = defaultBuildOptions();
    assert.deepEqual(o, { ...d, destinations: ['reg.example/app:1'], ignorePaths: ['/var/run'], contextSubPath: undefined, tarPath: undefined, ociLayoutPath: undefined, digestFile: undefined, imageNameWithDigestFile: undefined, imageNameTagWithDigestFile: undefined, target: undefined, customPlatform: undefined, sourceDateEpoch: undefined, compressionLevel: undefined, cacheRepo: undefined, workDir: undefined, gitOptions: undefined, imageFormat: undefined });
  });

  it('--ssh (ID for $SSH_AUTH_SOCK, ID=SOCKET), --allow security.insecure and --git reach their fields', () => {
    const o = parse([...D, '--ssh', 'default', '--ssh', 'other=/run/agent.sock', '--allow', 'security.insecure', '--git', 'branch=dev'], { SSH_AUTH_SOCK: '/tmp/ssh-x/agent.1' });
    assert.deepEqual(o.ssh, [{ id: 'default', socket: '/tmp/ssh-x/agent.1' }, { id: 'other', socket: '/run/agent.sock' }]);
    assert.deepEqual(o.allow, ['security.insecure']);
    assert.equal(o.gitOptions, 'branch=dev');
    throwsUser(() => parse([...D, '--ssh', 'default'], {}), '--ssh default: SSH_AUTH_SOCK is not set');
    throwsUser(() => parse([...D, '--ssh', '=/x']), 'invalid value "=/x" for --ssh');
    throwsUser(() => parse([...D, '--allow', 'network.host']), 'invalid value "network.host" for --allow: expected security.insecure');
    throwsUser(() => parse([...D, '--git', 'colour=blue']), '--git: unknown option "colour"');
  });

  it('maps every value flag to its field', () => {
    const o = parse([
      '--context', 'dir:///src', '--context-sub-path', 'app', '--dockerfile', 'build/Dockerfile',
      '--target', 'final', '--custom-platform', 'linux/arm64/v8',
      '-d', 'a/b:1', '--destination=c/d:2',
      '--tar-path', '/out/i.tar', '--oci-layout-path', '/out/oci', '--digest-file', '/out/digest',
      '--image-name-with-digest-file', '/out/nwd', '--image-name-tag-with-digest-file', '/out/ntwd',
      '--compression', 'zstd', '--compression-level', '9',
      '--insecure-registry', 'r1:5000', '--insecure-registry', 'r2',
      '--skip-tls-verify-registry', 'r3',
      '--registry-certificate', 'r4=/ca.pem', '--registry-client-cert', 'r5=/c.pem,/k.pem',
      '--registry-mirror', 'm1', '--registry-mirror', 'm2',
      '--push-retry', '3', '--image-download-retry', '4', '--image-fs-extract-retry', '5',
      '--isolation', 'chroot', '--snapshot-mode', 'redo',
      '--ignore-path', '/a', '--ignore-path=/b',
      '--cache-repo', 'oci:/cache', '--cache-dir', '/kcache', '--cache-ttl', '2h',
      '--kaniko-dir', '/work', '--verbosity', 'debug', '--log-format', 'json',
    ]);
    assert.equal(o.context, 'dir:///src');
    assert.equal(o.contextSubPath, 'app');
    assert.equal(o.dockerfile, 'build/Dockerfile');
    assert.equal(o.target, 'final');
    assert.equal(o.customPlatform, 'linux/arm64/v8');
    assert.deepEqual(o.destinations, ['a/b:1', 'c/d:2']);
    assert.equal(o.tarPath, '/out/i.tar');
    assert.equal(o.ociLayoutPath, '/out/oci');
    assert.equal(o.digestFile, '/out/digest');
    assert.equal(o.imageNameWithDigestFile, '/out/nwd');
    assert.equal(o.imageNameTagWithDigestFile, '/out/ntwd');
    assert.equal(o.compression, 'zstd');
    assert.equal(o.compressionLevel, 9);
    assert.deepEqual(o.insecureRegistries, ['r1:5000', 'r2']);
    assert.deepEqual(o.skipTlsVerifyRegistries, ['r3']);
    assert.deepEqual(o.registryCertificates, { r4: '/ca.pem' });
    assert.deepEqual(o.registryClientCerts, { r5: '/c.pem,/k.pem' });
    assert.deepEqual(o.registryMirrors, ['m1', 'm2']);
    assert.equal(o.pushRetry, 3);
    assert.equal(o.imageDownloadRetry, 4);
    assert.equal(o.isolation, 'chroot');
    assert.equal(o.snapshotMode, 'redo');
    assert.deepEqual(o.ignorePaths, ['/a', '/b', '/var/run']);
    assert.equal(o.cacheRepo, 'oci:/cache');
    assert.equal(o.cacheDir, '/kcache');
    assert.equal(o.cacheTtlSeconds, 7200);
    assert.equal(o.workDir, '/work');
    assert.equal(log.level, 'debug');
    assert.equal(log.format, 'json');
  });

  it('accepts the short forms -c, -f, -d and -v', () => {
    const o = parse(['-c', '/ctx', '-f', '/ctx/Dockerfile.x', '-d', 'x/y:z', '-v', 'warn']);
    assert.equal(o.context, '/ctx');
    assert.equal(o.dockerfile, '/ctx/Dockerfile.x');
    assert.deepEqual(o.destinations, ['x/y:z']);
    assert.equal(log.level, 'warn');
  });

  describe('pflag-style booleans', () => {
    const flags: Array<[string, keyof BuildOptions]> = [
      ['cache', 'cache'], ['reproducible', 'reproducible'], ['skip-unused-stages', 'skipUnusedStages'],
      ['insecure', 'insecure'], ['insecure-pull', 'insecurePull'], ['skip-tls-verify', 'skipTlsVerify'],
      ['skip-tls-verify-pull', 'skipTlsVerifyPull'], ['skip-default-registry-fallback', 'skipDefaultRegistryFallback'],
      ['skip-push-permission-check', 'skipPushPermissionCheck'], ['push-ignore-immutable-tag-errors', 'pushIgnoreImmutableTagErrors'],
      ['single-snapshot', 'singleSnapshot'], ['force-build-metadata', 'forceBuildMetadata'], ['force', 'force'], ['cache-copy-layers', 'cacheCopyLayers'], ['cleanup', 'cleanup'],
    ];
    for (const [flag, field] of flags) {
      it(`--${flag} → ${field}`, () => {
        assert.equal(parse(D)[field], false, 'default');
        assert.equal(parse([...D, `--${flag}`])[field], true, 'bare flag');
        for (const v of ['true', 'TRUE', '1', 't']) assert.equal(parse([...D, `--${flag}=${v}`])[field], true, v);
        for (const v of ['false', 'False', '0', 'f']) assert.equal(parse([...D, `--${flag}=${v}`])[field], false, v);
        // a bare boolean followed by another flag must not swallow it
        const o = parse([`--${flag}`, ...D]);
        assert.equal(o[field], true);
        assert.deepEqual(o.destinations, ['reg.example/app:1']);
      });
    }

    it('--cache-run-layers defaults to true and can be turned off', () => {
      assert.equal(parse(D).cacheRunLayers, true);
      assert.equal(parse([...D, '--cache-run-layers=false']).cacheRunLayers, false);
      assert.equal(parse([...D, '--cache-run-layers']).cacheRunLayers, true);
    });

    it('--ignore-var-run defaults to ignoring /var/run; =false keeps it', () => {
      assert.deepEqual(parse(D).ignorePaths, ['/var/run']);
      assert.deepEqual(parse([...D, '--ignore-var-run=true']).ignorePaths, ['/var/run']);
      assert.deepEqual(parse([...D, '--ignore-var-run=false']).ignorePaths, []);
    });

    it('--log-timestamp sets the logger timestamps', () => {
      parse([...D, '--log-timestamp']);
      assert.equal(log.timestamps, true);
      parse([...D, '--log-timestamp=false']);
      assert.equal(log.timestamps, false);
    });

    it('KANIKO_DIR sets the work dir as --kaniko-dir does; the flag wins', () => {
      assert.equal(parseBuildArgs(D, { KANIKO_DIR: '/scratch' })!.workDir, '/scratch');
      assert.equal(parseBuildArgs([...D, '--kaniko-dir', '/flag'], { KANIKO_DIR: '/scratch' })!.workDir, '/flag');
      assert.equal(parseBuildArgs(D, {})!.workDir, undefined);
    });

    it('kaniko-compatibility booleans are accepted', () => {
      parse([...D, '--use-new-run', '--compressed-caching=false', '--use-new-run=true', '--materialize', '--preserve-context=true']);
    });

    it('takes kaniko\'s older --customPlatform spelling', () => {
      assert.equal(parse([...D, '--customPlatform=linux/arm64']).customPlatform, 'linux/arm64');
      assert.equal(parse([...D, '--customPlatform', 'linux/arm/v7']).customPlatform, 'linux/arm/v7');
    });

    it('rejects a non-boolean value, naming the flag', () => {
      throwsUser(() => parse([...D, '--cache=yes']), '--cache', 'yes');
      throwsUser(() => parse([...D, '--reproducible=2']), '--reproducible');
    });

    it('parseBool follows pflag', () => {
      const p = parseBool('x');
      assert.equal(p(undefined), true);
      assert.equal(p(true), true);
      assert.equal(p('T'), true);
      assert.equal(p('F'), false);
      throwsUser(() => p('on'), '--x', '"on"');
    });
  });

  describe('--no-push and --no-push-cache', () => {
    it('--no-push builds without a destination', () => {
      const o = parse(['--no-push', '--oci-layout-path', '/o']);
      assert.equal(o.noPush, true);
      assert.deepEqual(o.destinations, []);
      assert.equal(parse(D).noPush, false);
    });
    it('--no-push=true / =false / =0', () => {
      assert.equal(parse(['--no-push=true']).noPush, true);
      assert.equal(parse(['--no-push=1']).noPush, true);
      assert.equal(parse([...D, '--no-push=false']).noPush, false);
      assert.equal(parse([...D, '--no-push=0']).noPush, false);
      throwsUser(() => parse(['--no-push=false']), '--destination');
      throwsUser(() => parse(['--no-push=maybe']), '--no-push', 'maybe');
    });
    it('--no-push-cache', () => {
      assert.equal(parse(D).noPushCache, false);
      assert.equal(parse([...D, '--no-push-cache']).noPushCache, true);
      assert.equal(parse([...D, '--no-push-cache=true']).noPushCache, true);
      assert.equal(parse([...D, '--no-push-cache=false']).noPushCache, false);
      // --no-push-cache must not be taken for --no-push
      assert.equal(parse([...D, '--no-push-cache']).noPush, false);
    });
    it('no destination without --no-push is an error naming --destination (exit code 2)', () => {
      const e = throwsUser(() => parse([]), '--destination', '--no-push');
      assert.equal(e.exitCode, 2);
    });
  });

  describe('--build-arg', () => {
    it('NAME=VALUE, repeatable, value may contain = and be empty', () => {
      const o = parse([...D, '--build-arg', 'A=1', '--build-arg', 'B=x=y', '--build-arg=C=', '--build-arg', 'A=2']);
      assert.deepEqual(o.buildArgs, { A: '2', B: 'x=y', C: '' });
    });
    it('NAME alone takes the value from the environment, or is left out when unset', () => {
      const o = parse([...D, '--build-arg', 'FROM_ENV', '--build-arg', 'UNSET', '--build-arg', 'EMPTY'], { FROM_ENV: 'v1', EMPTY: '' });
      assert.deepEqual(o.buildArgs, { FROM_ENV: 'v1', EMPTY: '' });
    });
    it('=VALUE without a name is an error naming the flag', () => {
      throwsUser(() => parse([...D, '--build-arg', '=x']), '--build-arg', '=x');
    });
  });

  describe('key=value flags', () => {
    it('--label is repeatable; later wins; value may contain =', () => {
      assert.deepEqual(parse([...D, '--label', 'a=1', '--label', 'b=c=d', '--label', 'a=2']).labels, { a: '2', b: 'c=d' });
    });
    it('--label without = is an error naming the flag', () => {
      throwsUser(() => parse([...D, '--label', 'novalue']), '--label', 'novalue');
    });
    it('--registry-certificate / --registry-client-cert need HOST=VALUE', () => {
      throwsUser(() => parse([...D, '--registry-certificate', '/ca.pem']), '--registry-certificate');
      throwsUser(() => parse([...D, '--registry-client-cert', '=x']), '--registry-client-cert');
    });
  });

  describe('--registry-map', () => {
    it('splits ;-separated targets', () => {
      assert.deepEqual(parse([...D, '--registry-map', 'index.docker.io=mirror.gcr.io;other.io']).registryMaps, {
        'index.docker.io': ['mirror.gcr.io', 'other.io'],
      });
    });
    it('keeps several registries apart and ignores empty targets', () => {
      assert.deepEqual(parse([...D, '--registry-map', 'a=b;', '--registry-map', 'c=d']).registryMaps, { a: ['b'], c: ['d'] });
    });
    it('rejects an entry without =', () => {
      throwsUser(() => parse([...D, '--registry-map', 'mirror.io']), '--registry-map', 'mirror.io');
    });
  });

  describe('--cache-ttl and parseGoDuration', () => {
    it('Go durations to seconds', () => {
      assert.equal(parseGoDuration('336h', 'f'), 336 * 3600);
      assert.equal(parseGoDuration('1h30m', 'f'), 5400);
      assert.equal(parseGoDuration('90s', 'f'), 90);
      assert.equal(parseGoDuration('500ms', 'f'), 0.5);
      assert.equal(parseGoDuration('1.5h', 'f'), 5400);
      assert.equal(parseGoDuration('1h2m3s', 'f'), 3723);
      assert.equal(parseGoDuration('0', 'f'), 0);
    });
    it('rejects malformed durations, naming the flag', () => {
      for (const bad of ['', 'h', '1x', '1h junk', 'junk1h', '1h-2m', '1d']) throwsUser(() => parseGoDuration(bad, 'cache-ttl'), '--cache-ttl', `"${bad}"`);
    });
    it('--cache-ttl maps to cacheTtlSeconds (default 336h)', () => {
      assert.equal(parse(D).cacheTtlSeconds, 336 * 3600);
      assert.equal(parse([...D, '--cache-ttl', '1h30m']).cacheTtlSeconds, 5400);
      throwsUser(() => parse([...D, '--cache-ttl', 'soon']), '--cache-ttl', 'soon');
    });
  });

  describe('--secret', () => {
    it('id=ID,src=PATH, id=ID,source=PATH, id=ID,env=VAR and id alone (env of that name)', () => {
      const o = parse([...D, '--secret', 'id=a,src=/run/a', '--secret', 'id=b,source=/run/b', '--secret', 'id=c,env=TOKEN', '--secret', 'id=d']);
      assert.deepEqual(o.secrets, [
        { id: 'a', src: '/run/a', env: undefined },
        { id: 'b', src: '/run/b', env: undefined },
        { id: 'c', src: undefined, env: 'TOKEN' },
        { id: 'd', src: undefined, env: 'd' },
      ]);
    });
    it('rejects entries without id or without key=value, naming the flag', () => {
      throwsUser(() => parse([...D, '--secret', 'src=/x']), '--secret', 'id=');
      throwsUser(() => parse([...D, '--secret', 'mysecret']), '--secret', 'mysecret');
    });
  });

  describe('bad input', () => {
    it('unknown flags name the flag (exit code 2)', () => {
      const e = throwsUser(() => parse([...D, '--frobnicate']), '--frobnicate');
      assert.equal(e.exitCode, 2);
    });
    it('a value flag without its value names the flag', () => {
      throwsUser(() => parse(['--destination']), '--destination');
    });
    it('excess positional arguments are refused', () => {
      throwsUser(() => parse([...D, 'stray']), 'too many arguments');
    });
    it('choices: --isolation, --snapshot-mode, --compression', () => {
      throwsUser(() => parse([...D, '--isolation', 'vm']), '--isolation', 'vm');
      throwsUser(() => parse([...D, '--snapshot-mode', 'fast']), '--snapshot-mode', 'fast');
      throwsUser(() => parse([...D, '--compression', 'xz']), '--compression', 'xz');
    });
    it('--compression-level within what the algorithm takes', () => {
      assert.equal(parse([...D, '--compression-level', '9']).compressionLevel, 9);
      assert.equal(parse([...D, '--compression', 'zstd', '--compression-level', '19']).compressionLevel, 19);
      throwsUser(() => parse([...D, '--compression-level', '10']), '--compression-level', 'gzip takes 0 to 9');
      throwsUser(() => parse([...D, '--compression', 'zstd', '--compression-level', '23']), '--compression-level', 'zstd takes 1 to 22');
    });
    it('whole-number flags', () => {
      throwsUser(() => parse([...D, '--push-retry', '-1']), '--push-retry');
      throwsUser(() => parse([...D, '--push-retry', 'two']), '--push-retry', 'two');
      throwsUser(() => parse([...D, '--compression-level', '1.5']), '--compression-level', '1.5');
      throwsUser(() => parse([...D, '--image-download-retry', '']), '--image-download-retry');
    });
    it('SOURCE_DATE_EPOCH from the environment must be a whole number', () => {
      assert.equal(parse(D, { SOURCE_DATE_EPOCH: '1700000000' }).sourceDateEpoch, 1700000000);
      throwsUser(() => parse(D, { SOURCE_DATE_EPOCH: 'yesterday' }), 'SOURCE_DATE_EPOCH', 'yesterday');
    });
  });

  it('--help returns null (nothing to build), and names the environment it reads', () => {
    const write = process.stdout.write;
    let out = '';
    process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
    try {
      assert.equal(parseBuildArgs(['--help'], {}), null);
    } finally {
      process.stdout.write = write;
    }
    assert.match(out, /--destination/);
    assert.match(out, /Environment:\n[^]*DOCKER_CONFIG[^]*DRYDOCK_NO_USERNS=1[^]*DRYDOCK_SNAPSHOT_WALKERS=N[^]*DRYDOCK_FILE_WRITERS=N/);
  });

  describe('repeated maps and bad log settings', () => {
    it('a repeated source registry adds targets (kaniko multiKeyMultiValueArg appends)', () => {
      assert.deepEqual(parse([...D, '--registry-map', 'a=x', '--registry-map', 'a=y;z']).registryMaps, { a: ['x', 'y', 'z'] });
    });
    it('a bad --verbosity or --log-format is a user error naming the value', () => {
      throwsUser(() => parse([...D, '--verbosity', 'loud']), 'verbosity', 'loud');
      throwsUser(() => parse([...D, '--log-format', 'xml']), 'log format', 'xml');
    });
  });
});
