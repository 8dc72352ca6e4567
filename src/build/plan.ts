// Which stages a build needs: the target and, transitively, every stage it names in FROM,
// COPY --from or RUN --mount from=. Without --skip-unused-stages every stage up to the target
// is built, as kaniko does.
import { expandWord } from '../dockerfile/expand';
import type { EscapeChar, Stage } from '../dockerfile/types';
import { UserError } from '../log';
import type { ArgScope } from './variables';

export function findStage(stages: Stage[], target: string, file: string): Stage {
  const s = stages.find((x) => x.name === target.toLowerCase()) ?? (/^\d+$/.test(target) ? stages[Number(target)] : undefined);
  if (!s) {
    const names = stages.map((x) => x.name ?? String(x.index)).join(', ');
    throw new UserError(`--target ${target}: no such stage in ${file} (stages: ${names})`);
  }
  return s;
}

function references(stage: Stage, stages: Stage[], globals: ArgScope, escape: EscapeChar): number[] {
  const lookup = (n: string) => globals.get(n);
  const out: number[] = [];
  const byName = (n: string) => {
    const s = stages.find((x) => x.index < stage.index && (x.name === n.toLowerCase() || String(x.index) === n));
    if (s) out.push(s.index);
  };
  byName(expandWord(stage.baseImage, lookup, escape));
  for (const i of stage.instructions) {
    // stage names are literal in practice; expansion with globals covers `--from=${BASE}`
    if (i.kind === 'copy' && i.flags.from) byName(expandWord(i.flags.from, lookup, escape));
    if (i.kind === 'run') for (const m of i.mounts) if (m.spec.from) byName(m.spec.from);
  }
  return out;
}

export function neededStages(stages: Stage[], target: number, globals: ArgScope, escape: EscapeChar, skipUnused: boolean): Set<number> {
  if (!skipUnused) return new Set(stages.filter((s) => s.index <= target).map((s) => s.index));
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const r of references(stages[i], stages, globals, escape)) visit(r);
  };
  visit(target);
  return needed;
}

/**
 * The stages whose image must have layers: the target, and every stage that a built stage is
 * FROM (its root is unpacked from that image's layers). Every other stage only lends files
 * (COPY --from, RUN --mount from=), so its steps can change its root in place without snapshots
 * or layers.
 */
export function layeredStages(stages: Stage[], target: number, built: Set<number>, globals: ArgScope, escape: EscapeChar): Set<number> {
  const out = new Set<number>([target]);
  for (const i of built) {
    const stage = stages[i];
    const base = expandWord(stage.baseImage, (n) => globals.get(n), escape).toLowerCase();
    const from = stages.find((x) => x.index < stage.index && (x.name === base || String(x.index) === base));
    if (from) out.add(from.index);
  }
  return out;
}

/** Whether a stage runs commands. */
export const hasRun = (s: Stage): boolean => s.instructions.some((i) => i.kind === 'run');

/**
 * With --isolation=none RUN executes in the host's `/`, so the one stage that runs commands is
 * unpacked there (its index is returned); every other stage keeps a private root. Two stages
 * cannot share `/` without deleting each other's files: kaniko deletes the root between stages,
 * which in a Jenkins agent would delete the agent's own system files; we refuse instead.
 */
export function hostRootStage(stages: Stage[], isolation: 'chroot' | 'none', file: string): number | undefined {
  const withRun = stages.filter(hasRun);
  if (withRun.length === 0 || isolation !== 'none') return undefined;
  if (withRun.length > 1) {
    const lines = withRun.map((s) => `${file}:${s.from.line}`).join(', ');
    throw new UserError(`--isolation=none runs commands in / and can do so for one stage only, but stages at ${lines} have RUN instructions: `
      + 'use --isolation=chroot, or build such stages one per run (--target STAGE, then FROM the image it pushed)');
  }
  return withRun[0].index;
}
