// Which instructions the builder expands variables in (Docker's "environment replacement" list).
// RUN, CMD and ENTRYPOINT are not expanded by the builder: in shell form the shell does it, in
// exec form nothing does. SHELL, HEALTHCHECK and MAINTAINER are taken literally. ONBUILD triggers
// are expanded when they run in the child build, not where they are declared.
import type { InstructionKind } from './types';

const expanding: Record<InstructionKind, boolean> = {
  add: true,
  arg: true,
  copy: true,
  env: true,
  expose: true,
  from: true,
  label: true,
  stopsignal: true,
  user: true,
  volume: true,
  workdir: true,
  cmd: false,
  entrypoint: false,
  healthcheck: false,
  maintainer: false,
  onbuild: false,
  run: false,
  shell: false,
};

/**
 * True when the builder must expand $VARS in the instruction's words (and, for COPY/ADD/FROM/RUN,
 * also in flag values such as --from, --chown, --chmod, --platform and the fields of --mount,
 * which BuildKit expands even though RUN's command is not).
 */
export function expandsVariables(kind: InstructionKind): boolean {
  return expanding[kind];
}
