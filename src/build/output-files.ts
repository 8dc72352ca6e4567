// The files a build leaves beside its pushes (--tar-path, --oci-layout-path and the digest files).
// Their directories are made before the build starts, as `mkdir -p` would (a CI job names a path
// in a fresh workspace): a path that cannot be written then fails in a moment with its flag named,
// not after a long build with a bare ENOENT.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../log';

export interface OutputFile {
  flag: string;
  path: string;
}

export interface OutputOptions {
  tarPath?: string;
  ociLayoutPath?: string;
  digestFile?: string;
  imageNameWithDigestFile?: string;
  imageNameTagWithDigestFile?: string;
}

const FLAGS: Array<[keyof OutputOptions, string]> = [
  ['tarPath', '--tar-path'],
  ['ociLayoutPath', '--oci-layout-path'],
  ['digestFile', '--digest-file'],
  ['imageNameWithDigestFile', '--image-name-with-digest-file'],
  ['imageNameTagWithDigestFile', '--image-name-tag-with-digest-file'],
];

/** The flags that name files or directories a build writes (the sidecar checks them too). */
export const OUTPUT_FLAGS: readonly string[] = FLAGS.map(([, flag]) => flag);

export function outputFiles(o: OutputOptions): OutputFile[] {
  return FLAGS.filter(([k]) => o[k]).map(([k, flag]) => ({ flag, path: o[k]! }));
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  EEXIST: 'a component of the path is a file',
};

/** A UserError naming the flag and what the system said, for a failure to write `f`. */
export function outputError(f: OutputFile, err: unknown): Error {
  if (err instanceof UserError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (!code) return err as Error;
  return new UserError(`cannot write ${f.flag} ${f.path}: ${REASONS[code] ?? (err as Error).message}`);
}

/**
 * Make the directory each output goes in, and refuse an output path that is an existing
 * directory where a file is wanted (an OCI layout is a directory: made when it is written).
 */
export async function prepareOutputDirs(files: OutputFile[]): Promise<void> {
  for (const f of files) {
    try {
      await fs.promises.mkdir(path.dirname(path.resolve(f.path)), { recursive: true });
      const st = await fs.promises.stat(f.path).catch(() => undefined);
      const layout = f.flag === '--oci-layout-path';
      if (st && st.isDirectory() !== layout) {
        throw new UserError(`cannot write ${f.flag} ${f.path}: ${layout ? 'it is a file, expected a directory (an OCI layout)' : 'it is a directory, expected a file name'}`);
      }
    } catch (err) {
      throw outputError(f, err);
    }
  }
}

/** Run `write` for `f`, its errors named by the flag. */
export async function writingOutput<T>(f: OutputFile, write: () => Promise<T> | T): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw outputError(f, err);
  }
}
