// Which stages a build runs: the target by name or index, and with --skip-unused-stages only what
// it needs (FROM <stage>, COPY --from, RUN --mount from=), else every stage up to the target.
import * as assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/dockerfile';
import { findStage, hostRootStage, layeredStages, neededStages } from '../../../src/build/plan';
import { ArgScope } from '../../../src/build/variables';
import { UserError } from '../../../src/log';

const DF = `
ARG SRC=builder
FROM busybox AS base
FROM base AS Builder
RUN true
FROM busybox AS tools
FROM busybox AS unrelated
FROM busybox AS assets
FROM busybox AS cache
FROM busybox AS final
COPY --from=\${SRC} /a /a
COPY --from=3 /b /b
RUN --mount=type=cache,from=cache,target=/c true
`;

function setup(text = DF, buildArgs: Record<string, string> = {}) {
  const parsed = parseDockerfile(text, 'Dockerfile');
  const globals = new ArgScope(buildArgs, {}, null);
  for (const g of parsed.globalArgs) for (const a of g.args) globals.declare(a.name, a.value);
  return { parsed, globals };
}

describe('build/plan', () => {
  describe('findStage', () => {
    const { parsed } = setup();
    it('by name, case-insensitively', () => {
      assert.equal(findStage(parsed.stages, 'builder', 'Dockerfile').index, 1);
      assert.equal(findStage(parsed.stages, 'BUILDER', 'Dockerfile').index, 1);
    });
    it('by index', () => {
      assert.equal(findStage(parsed.stages, '0', 'Dockerfile').name, 'base');
      assert.equal(findStage(parsed.stages, '6', 'Dockerfile').name, 'final');
    });
    it('an unknown stage is an error naming the target, the file and the stages', () => {
      assert.throws(() => findStage(parsed.stages, 'nope', 'ci/Dockerfile'), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, /--target nope/);
        assert.match(e.message, /ci\/Dockerfile/);
        assert.match(e.message, /base, builder, tools/);
        return true;
      });
      assert.throws(() => findStage(parsed.stages, '7', 'Dockerfile'), UserError);
    });
  });

  describe('neededStages', () => {
    it('without skipUnused: every stage up to the target', () => {
      const { parsed, globals } = setup();
      assert.deepEqual([...neededStages(parsed.stages, 3, globals, parsed.escape, false)], [0, 1, 2, 3]);
      assert.deepEqual([...neededStages(parsed.stages, 6, globals, parsed.escape, false)].length, 7);
    });
    it('with skipUnused: FROM, COPY --from (name, index, global ARG) and RUN --mount from=, transitively', () => {
      const { parsed, globals } = setup();
      const got = [...neededStages(parsed.stages, 6, globals, parsed.escape, true)].sort();
      // final → builder (via ${SRC}) → base; 3 = unrelated by index; cache via the mount
      assert.deepEqual(got, [0, 1, 3, 5, 6]);
    });
    it('a --build-arg changing the global ARG changes the needed stage', () => {
      const { parsed, globals } = setup(DF, { SRC: 'tools' });
      const got = [...neededStages(parsed.stages, 6, globals, parsed.escape, true)].sort();
      assert.deepEqual(got, [2, 3, 5, 6]);
    });
    it('a target with no references needs only itself', () => {
      const { parsed, globals } = setup();
      assert.deepEqual([...neededStages(parsed.stages, 4, globals, parsed.escape, true)], [4]);
    });
    it('an image name that matches no earlier stage is not a stage reference', () => {
      const { parsed, globals } = setup('FROM busybox AS final\nCOPY --from=alpine:3 /x /x\nFROM final AS later\n');
      assert.deepEqual([...neededStages(parsed.stages, 0, globals, parsed.escape, true)], [0]);
      assert.deepEqual([...neededStages(parsed.stages, 1, globals, parsed.escape, true)].sort(), [0, 1]);
    });
  });

  describe('layeredStages', () => {
    it('the target and every built stage\'s FROM stage need layers; stages that only lend files do not', () => {
      const { parsed, globals } = setup();
      const all = neededStages(parsed.stages, 6, globals, parsed.escape, false);
      // builder is FROM base; final lends from builder, unrelated and cache only through COPY/mount
      assert.deepEqual([...layeredStages(parsed.stages, 6, all, globals, parsed.escape)].sort(), [0, 6]);
      const used = neededStages(parsed.stages, 6, globals, parsed.escape, true);
      assert.deepEqual([...layeredStages(parsed.stages, 6, used, globals, parsed.escape)].sort(), [0, 6]);
    });
    it('a chain of FROM stages keeps its layers, also below a stage that itself only lends files', () => {
      const { parsed, globals } = setup('FROM busybox AS a\nRUN true\nFROM a AS b\nRUN true\nFROM b AS c\nFROM busybox AS final\nCOPY --from=c /x /x\n');
      const built = neededStages(parsed.stages, 3, globals, parsed.escape, true);
      assert.deepEqual([...built].sort(), [0, 1, 2, 3]);
      assert.deepEqual([...layeredStages(parsed.stages, 3, built, globals, parsed.escape)].sort(), [0, 1, 3]);
    });
    it('a FROM by index or through a global ARG counts', () => {
      const { parsed, globals } = setup('ARG B=first\nFROM busybox AS first\nFROM busybox\nFROM ${B}\nFROM 1\n');
      const built = neededStages(parsed.stages, 3, globals, parsed.escape, false);
      assert.deepEqual([...layeredStages(parsed.stages, 3, built, globals, parsed.escape)].sort(), [0, 1, 3]);
    });
  });
});

describe('build/plan hostRootStage (--isolation=none)', () => {
  const stages = (text: string) => parseDockerfile(text, 'Dockerfile').stages;
  const two = stages('FROM a AS build\nRUN make\nFROM b\nCOPY --from=build /out /out\nRUN test -e /out\n');

  it('gives / to the one stage that runs commands, and to none under chroot', () => {
    assert.equal(hostRootStage(stages('FROM a AS build\nRUN make\nFROM b\nCOPY --from=build /out /out\n'), 'none', 'Dockerfile'), 0);
    assert.equal(hostRootStage(stages('FROM a\nCOPY x /x\n'), 'none', 'Dockerfile'), undefined);
    assert.equal(hostRootStage(two, 'chroot', 'Dockerfile'), undefined);
  });

  it('refuses two stages with RUN, naming their lines and the ways out, before anything is unpacked', () => {
    assert.throws(() => hostRootStage(two, 'none', 'Dockerfile'), (e: Error) => e instanceof UserError
      && /--isolation=none runs commands in \/ and can do so for one stage only, but stages at Dockerfile:1, Dockerfile:3 have RUN instructions/.test(e.message)
      && /--isolation=chroot/.test(e.message) && /--target STAGE/.test(e.message));
  });
});
