// RUN: executed by the isolation runners (executor part 2). Until they are wired in, a RUN fails
// loudly instead of being skipped.
import type { RunInstruction } from '../../dockerfile/types';
import { UserError } from '../../log';
import type { StageBuilder } from '../stage';

export async function runInstruction(stage: StageBuilder, instr: RunInstruction): Promise<void> {
  throw new UserError(`${stage.where(instr)}: RUN is not yet supported by this version of drydock (only instructions that need no command execution are)`);
}
