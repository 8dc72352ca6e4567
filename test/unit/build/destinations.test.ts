import { strict as assert } from 'node:assert';
import { parseDestination, parseDestinations } from '../../../src/build/destinations';
import { UserError } from '../../../src/log';

const D = `sha256:${'a'.repeat(64)}`;

describe('build/destinations', () => {
  it('takes tagged references, latest by default', () => {
    assert.deepEqual(parseDestinations(['r.io/team/app:1.2', 'r.io/team/app']).map(String), ['r.io/team/app:1.2', 'r.io/team/app:latest']);
  });

  // kaniko's name.NewTag refuses both; name:tag@digest used to be pushed as name:tag, the digest dropped
  for (const d of [`r.io/team/app:1.2@${D}`, `r.io/team/app@${D}`]) {
    it(`refuses a digest: ${d.slice(0, 22)}…`, () => {
      assert.throws(() => parseDestination(d), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.equal(e.message, `invalid --destination "${d}": a destination names a tag to push to, not a digest; drop "@${D}" `
          + `(the pushed image's digest is what --digest-file and --image-name-with-digest-file write)`);
        return true;
      });
    });
  }

  it('names the flag for a malformed reference', () => {
    assert.throws(() => parseDestination('r.io/Team/app'), /^UserError: invalid --destination "r\.io\/Team\/app": invalid image reference .*lowercase/);
  });
});
