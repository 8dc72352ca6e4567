// ARG/ENV scoping as Docker documents it ("Scope", "Using ARG variables", "Predefined ARGs",
// "Automatic platform ARGs in the global scope").
import * as assert from 'node:assert/strict';
import { ArgScope, PROXY_ARGS, envLookup, platformArgs, setEnv } from '../../../src/build/variables';

const amd64 = { os: 'linux', architecture: 'amd64' };
const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };

describe('build/variables', () => {
  describe('ArgScope', () => {
    it('an undeclared ARG has no value, even with a --build-arg', () => {
      const s = new ArgScope({ A: 'cli' }, {}, null);
      assert.equal(s.has('A'), false);
      assert.equal(s.get('A'), undefined);
    });

    it('ARG with a default takes the default; --build-arg overrides it', () => {
      const s = new ArgScope({ B: 'cli' }, {}, null);
      s.declare('A', 'dflt');
      s.declare('B', 'dflt');
      assert.equal(s.get('A'), 'dflt');
      assert.equal(s.get('B'), 'cli');
    });

    it('--build-arg with an empty value still overrides the default', () => {
      const s = new ArgScope({ A: '' }, {}, null);
      s.declare('A', 'dflt');
      assert.equal(s.get('A'), '');
    });

    it('ARG without default and without --build-arg is declared but has no value', () => {
      const s = new ArgScope({}, {}, null);
      s.declare('A', undefined);
      assert.equal(s.has('A'), true);
      assert.equal(s.get('A'), undefined);
      assert.deepEqual(s.entries(), []);
    });

    it('a global ARG is visible in a stage only after the stage re-declares it, with the global value', () => {
      const globals = new ArgScope({}, {}, null);
      globals.declare('VERSION', '1.2');
      const stage = new ArgScope({}, {}, globals);
      assert.equal(stage.get('VERSION'), undefined, 'before re-declaration');
      stage.declare('VERSION', undefined);
      assert.equal(stage.get('VERSION'), '1.2');
    });

    it('a stage default wins over the global value; --build-arg wins over both', () => {
      const globals = new ArgScope({ B: 'cli' }, {}, null);
      globals.declare('A', 'global');
      globals.declare('B', 'global');
      const stage = new ArgScope({ B: 'cli' }, {}, globals);
      stage.declare('A', 'stage');
      stage.declare('B', 'stage');
      assert.equal(stage.get('A'), 'stage');
      assert.equal(stage.get('B'), 'cli');
      assert.equal(globals.get('B'), 'cli');
    });

    it('each stage has its own scope', () => {
      const globals = new ArgScope({}, {}, null);
      const s1 = new ArgScope({}, {}, globals);
      const s2 = new ArgScope({}, {}, globals);
      s1.declare('X', '1');
      assert.equal(s2.get('X'), undefined);
    });

    it('proxy args are predefined: usable without ARG, listed in entries', () => {
      const s = new ArgScope({ HTTP_PROXY: 'http://proxy:3128', no_proxy: 'localhost', OTHER: 'x' }, {}, null);
      assert.equal(s.get('HTTP_PROXY'), 'http://proxy:3128');
      assert.equal(s.get('no_proxy'), 'localhost');
      assert.equal(s.get('HTTPS_PROXY'), undefined);
      assert.equal(s.get('OTHER'), undefined);
      assert.deepEqual(s.entries(), [['HTTP_PROXY', 'http://proxy:3128'], ['no_proxy', 'localhost']]);
      assert.equal(PROXY_ARGS.length, 10);
    });

    it('a declared proxy arg is listed once', () => {
      const s = new ArgScope({ HTTP_PROXY: 'p' }, {}, null);
      s.declare('HTTP_PROXY', 'dflt');
      assert.deepEqual(s.entries(), [['HTTP_PROXY', 'p']]);
    });

    it('automatic platform args: a value only after `ARG NAME` in the stage; a --build-arg overrides', () => {
      const auto = platformArgs(armv7, amd64);
      const s = new ArgScope({ BUILDOS: 'plan9' }, auto, new ArgScope({}, auto, null));
      assert.equal(s.get('TARGETARCH'), undefined);
      s.declare('TARGETARCH', undefined);
      s.declare('TARGETVARIANT', undefined);
      s.declare('BUILDOS', undefined);
      s.declare('TARGETOS', 'custom');
      assert.equal(s.get('TARGETARCH'), 'arm');
      assert.equal(s.get('TARGETVARIANT'), 'v7');
      assert.equal(s.get('BUILDOS'), 'plan9');
      assert.equal(s.get('TARGETOS'), 'custom');
    });

    it('entries lists declared args with a value, in declaration order', () => {
      const s = new ArgScope({ B: 'b' }, {}, null);
      s.declare('A', 'a');
      s.declare('N', undefined);
      s.declare('B', undefined);
      assert.deepEqual(s.entries(), [['A', 'a'], ['B', 'b']]);
    });

    it('unused: build args no scope declared, proxies excepted', () => {
      const args = { USED_GLOBAL: '1', USED_STAGE: '2', NEVER: '3', HTTP_PROXY: 'p' };
      const globals = new ArgScope(args, {}, null);
      globals.declare('USED_GLOBAL', undefined);
      const stage = new ArgScope(args, {}, globals);
      stage.declare('USED_STAGE', undefined);
      assert.deepEqual(ArgScope.unused(args, [globals, stage]), ['NEVER']);
      assert.deepEqual(ArgScope.unused(args, []), ['USED_GLOBAL', 'USED_STAGE', 'NEVER']);
    });
  });

  it('platformArgs', () => {
    assert.deepEqual(platformArgs(armv7, amd64), {
      TARGETPLATFORM: 'linux/arm/v7', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7',
      BUILDPLATFORM: 'linux/amd64', BUILDOS: 'linux', BUILDARCH: 'amd64', BUILDVARIANT: '',
    });
  });

  it('envLookup: last definition wins; a bare name is empty', () => {
    const m = envLookup(['A=1', 'B=x=y', 'A=2', 'C']);
    assert.equal(m.get('A'), '2');
    assert.equal(m.get('B'), 'x=y');
    assert.equal(m.get('C'), '');
    assert.equal(envLookup(undefined).size, 0);
  });

  it('setEnv replaces a key where it stands (Docker, BuildKit and buildah keep its place), appends a new one, and leaves the input alone', () => {
    const before = ['PATH=/bin', 'A=1', 'AB=2'];
    assert.deepEqual(setEnv(before, 'A', '3'), ['PATH=/bin', 'A=3', 'AB=2']);
    assert.deepEqual(setEnv(before, 'B', '4'), ['PATH=/bin', 'A=1', 'AB=2', 'B=4']);
    assert.deepEqual(before, ['PATH=/bin', 'A=1', 'AB=2']);
    assert.deepEqual(setEnv(undefined, 'X', ''), ['X=']);
  });

  describe('global scope', () => {
    it('automatic platform args are visible in the global scope (FROM lines) without ARG (BuildKit docs)', () => {
      const globals = new ArgScope({}, platformArgs(armv7, amd64), null);
      assert.equal(globals.get('BUILDPLATFORM'), 'linux/amd64');
      assert.equal(globals.get('TARGETARCH'), 'arm');
    });
  });
});
