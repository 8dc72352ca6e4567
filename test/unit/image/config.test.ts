import { strict as assert } from 'node:assert';
import { parseConfig } from '../../../src/image/config';

const d = (c: string) => 'sha256:' + c.repeat(64);
const base = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } },
  rootfs: { type: 'layers', diff_ids: [d('1')] },
  history: [{ created_by: 'ADD x /' }, { created_by: 'CMD ["sh"]', empty_layer: true }],
  docker_version: '24.0', // unknown fields survive
};

describe('image/config', () => {
  it('parses a config and keeps unknown fields', () => {
    const c = parseConfig(Buffer.from(JSON.stringify(base)));
    assert.equal(c.architecture, 'amd64');
    assert.deepEqual(c.config?.Cmd, ['sh']);
    assert.deepEqual(c.rootfs.diff_ids, [d('1')]);
    assert.equal(c.docker_version, '24.0');
  });

  it('accepts Docker nulls (diff_ids, Cmd, history)', () => {
    const c = parseConfig(JSON.stringify({ ...base, config: { Cmd: null, Entrypoint: null }, rootfs: { type: 'layers', diff_ids: null }, history: null }));
    assert.deepEqual(c.rootfs.diff_ids, []);
    assert.equal(c.history, undefined);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not JSON', 'nope', /not JSON/],
    ['missing os', { ...base, os: undefined }, /"os" must be a non-empty string/],
    ['missing rootfs', { ...base, rootfs: undefined }, /"rootfs" must be an object/],
    ['wrong rootfs type', { ...base, rootfs: { type: 'x', diff_ids: [] } }, /"rootfs.type" must be "layers", got "x"/],
    ['bad diff id', { ...base, rootfs: { type: 'layers', diff_ids: ['nope'] } }, /"rootfs.diff_ids\[0\]" is not a digest/],
    ['Env not strings', { ...base, config: { Env: [1] } }, /"config.Env" must be an array of strings/],
    ['Cmd a string', { ...base, config: { Cmd: 'sh' } }, /"config.Cmd" must be an array of strings/],
    ['Labels values', { ...base, config: { Labels: { a: 1 } } }, /"config.Labels" values must be strings/],
    ['history entry', { ...base, history: ['x'] }, /"history\[0\]" must be an object/],
    ['empty_layer type', { ...base, history: [{ empty_layer: 'yes' }] }, /"history\[0\].empty_layer" must be a boolean/],
  ];
  for (const [name, doc, re] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseConfig(typeof doc === 'string' ? doc : JSON.stringify(doc), 'config of r.io/x'), (e: unknown) => {
        assert.match((e as Error).message, /^invalid config of r\.io\/x: /);
        assert.match((e as Error).message, re);
        return true;
      });
    });
  }
});
