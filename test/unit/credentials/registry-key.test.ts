// Matching config.json keys to registry hosts the way Docker does; ECR host recognition.
import { strict as assert } from 'node:assert';
import { ecrHostFor, isAccountId, parseEcrHost } from '../../../src/credentials/ecr-host';
import { DOCKER_HUB_KEY, configKeyFor, findKey, keyToHost } from '../../../src/credentials/registry-key';

describe('credentials/registry-key', () => {
  it('strips schemes and paths like Docker\'s ConvertToHostname', () => {
    assert.equal(keyToHost('https://index.docker.io/v1/'), 'index.docker.io');
    assert.equal(keyToHost('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
    assert.equal(keyToHost('quay.io'), 'quay.io');
  });
  it('finds Docker Hub under its historical key from any of its names', () => {
    const auths = { [DOCKER_HUB_KEY]: 1, 'quay.io': 2 };
    for (const n of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) assert.equal(findKey(auths, n), DOCKER_HUB_KEY);
    assert.equal(configKeyFor('docker.io'), DOCKER_HUB_KEY);
  });
  it('prefers an exact key, then a key with scheme and path', () => {
    assert.equal(findKey({ 'https://r:5000/v2/': 1, 'r:5000': 2 }, 'r:5000'), 'r:5000');
    assert.equal(findKey({ 'https://r:5000/v2/': 1 }, 'r:5000'), 'https://r:5000/v2/');
    assert.equal(findKey({ 'r:5001': 1 }, 'r:5000'), undefined);
  });
});

describe('credentials/ecr-host', () => {
  it('recognises ECR hosts in every partition, FIPS and dual-stack, and ECR Public', () => {
    const cases: Array<[string, string, boolean]> = [
      ['123456789012.dkr.ecr.us-east-1.amazonaws.com', 'us-east-1', false],
      ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', 'us-gov-west-1', true],
      ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', 'cn-north-1', false],
      ['123456789012.dkr-ecr.eu-west-1.on.aws', 'eu-west-1', false],
      ['123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov', 'us-iso-east-1', false],
      ['123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov', 'us-isob-east-1', false],
      ['123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk', 'eu-isoe-west-1', false],
    ];
    for (const [host, region, fips] of cases) {
      const r = parseEcrHost(host);
      assert.ok(r, host);
      assert.equal(r.registryId, '123456789012');
      assert.equal(r.region, region);
      assert.equal(r.fips, fips);
    }
    assert.equal(parseEcrHost('public.ecr.aws')?.kind, 'public');
    assert.equal(parseEcrHost('12345.dkr.ecr.us-east-1.amazonaws.com'), undefined);
    assert.equal(parseEcrHost('123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example'), undefined);
  });
  it('turns a bare account id into its registry host', () => {
    assert.ok(isAccountId('123456789012'));
    assert.equal(ecrHostFor('123456789012', 'eu-west-1'), '123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    assert.equal(ecrHostFor('123456789012', 'cn-north-1'), '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn');
    assert.equal(ecrHostFor('123456789012', 'eusc-de-east-1'), '123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu');
    assert.equal(parseEcrHost(ecrHostFor('123456789012', 'eusc-de-east-1'))?.region, 'eusc-de-east-1');
  });
});
