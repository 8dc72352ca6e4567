// Path resolution inside an image root (see src/fs/in-root.ts): the isolation's entry point.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveInRootSync, type InRootOptions } from '../../fs/in-root';

export async function resolveInRoot(root: string, inImage: string, opts: InRootOptions = {}): Promise<{ hostPath: string; created: string[] }> {
  return resolveInRootSync(root, inImage, opts);
}

/**
 * Whether the host directory `hostDir`, found for the in-image directory `inImageDir` before a
 * step ran, is still where that path leads, as a real directory. A step may replace a directory
 * on the way (/etc, /dev, a mount's parent) with a symlink to anywhere, the host included:
 * putting things back afterwards must then leave that path alone, never follow it.
 */
export function stillLeadsTo(root: string, inImageDir: string, hostDir: string): boolean {
  try {
    if (resolveInRootSync(root, inImageDir).hostPath !== hostDir) return false;
    return fs.lstatSync(hostDir).isDirectory();
  } catch {
    return false;
  }
}

/** The in-image path of `hostPath` under `root` ("/etc/hosts"). */
export function inImagePath(root: string, hostPath: string): string {
  return '/' + path.relative(root, hostPath).split(path.sep).join('/');
}
