// placeholder: filled in by the issue that owns this command
import { UserError } from '../log';
export async function main(_args: string[]): Promise<number> {
  throw new UserError('drydock agent: not implemented yet');
}
