// Writing config.json: atomically (temp file in the same directory, fsync, rename), mode 0600,
// so a reader never sees half a file and no other user can read the secrets.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../log';
import type { AuthEntry, DockerConfig } from './config-file';

export function writeDockerConfigAtomic(file: string, cfg: DockerConfig): void {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new UserError(`cannot create ${dir} for ${path.basename(file)}: ${(e as Error).message}`);
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o600);
    fs.writeSync(fd, JSON.stringify(cfg, null, '\t') + '\n');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${file}: ${(e as Error).message}`);
  }
}

/** Merge `extra` into `base`: per-registry for auths and credHelpers, replacing everything else. */
export function mergeDockerConfig(base: DockerConfig, extra: DockerConfig): DockerConfig {
  const out: DockerConfig = { ...base, ...extra };
  if (base.auths || extra.auths) out.auths = { ...(base.auths ?? {}), ...(extra.auths ?? {}) } as Record<string, AuthEntry>;
  if (base.credHelpers || extra.credHelpers) out.credHelpers = { ...(base.credHelpers ?? {}), ...(extra.credHelpers ?? {}) };
  return out;
}
