// Path resolution inside an image root (see src/fs/in-root.ts): the isolation's entry point.
import { resolveInRootSync, type InRootOptions } from '../../fs/in-root';

export async function resolveInRoot(root: string, inImage: string, opts: InRootOptions = {}): Promise<{ hostPath: string; created: string[] }> {
  return resolveInRootSync(root, inImage, opts);
}
