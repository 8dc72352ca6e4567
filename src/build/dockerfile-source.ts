// Find and read the Dockerfile the way kaniko does: an absolute path as is; a relative one inside
// the context first, then relative to the working directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../log';

export interface LoadedDockerfile {
  path: string;
  /** the name used in error messages ("Dockerfile:3: …") */
  displayName: string;
  text: string;
}

export function loadDockerfile(spec: string, contextDir: string): LoadedDockerfile {
  const candidates = path.isAbsolute(spec) ? [spec] : [path.join(contextDir, spec), path.resolve(spec)];
  const found = candidates.find((c) => {
    try {
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
  if (!found) {
    throw new UserError(`Dockerfile not found: ${spec} (looked in ${[...new Set(candidates)].join(' and ')})`);
  }
  const text = fs.readFileSync(found, 'utf8');
  return { path: found, displayName: path.isAbsolute(spec) ? spec : spec.replace(/^\.\//, ''), text };
}
