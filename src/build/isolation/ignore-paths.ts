// What `--isolation=none` must never snapshot, extract over or delete: with `/` as the image root,
// the executor, the system's virtual filesystems, mounted volumes (secrets, the workspace) and the
// Jenkins agent live in the same tree as the image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountPointsFromMountinfo } from '../../fs/ignore';

export interface IgnoreSources {
  /** /proc/self/mountinfo text (read when absent) */
  mountinfo?: string;
  /** the node binary (default process.execPath) */
  execPath?: string;
  /** the executor's install directory (default: the directory holding our package.json) */
  installDir?: string;
}

/** The directory of the nearest package.json above this file: where the executor is installed. */
export function executorInstallDir(from = __dirname): string {
  let d = from;
  for (;;) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
    const up = path.dirname(d);
    if (up === d) return from;
    d = up;
  }
}

/**
 * Absolute host paths to ignore, sorted and unique. HOME is included except when it is `/` or
 * `/root`: in none mode root's home belongs to the image (a Jenkins agent runs as `jenkins`).
 */
export function defaultIgnorePaths(env: NodeJS.ProcessEnv, extra: string[] = [], src: IgnoreSources = {}): string[] {
  const out = new Set<string>(['/proc', '/sys', '/dev', '/busybox', '/kaniko', '/home/jenkins']);
  out.add(src.execPath ?? process.execPath);
  out.add(src.installDir ?? executorInstallDir());
  for (const k of ['JENKINS_AGENT_WORKDIR', 'AGENT_WORKDIR', 'WORKSPACE', 'JENKINS_HOME']) {
    const v = env[k];
    if (v && path.isAbsolute(v)) out.add(v);
  }
  if (env.HOME && path.isAbsolute(env.HOME) && !['/', '/root'].includes(path.resolve(env.HOME))) out.add(env.HOME);
  out.add(env.DOCKER_CONFIG && path.isAbsolute(env.DOCKER_CONFIG) ? env.DOCKER_CONFIG : '/kaniko/.docker');
  // without DOCKER_CONFIG, credentials come from ~/.docker: root's too, though /root is the image's
  if (!env.DOCKER_CONFIG && env.HOME && path.isAbsolute(env.HOME)) out.add(path.join(env.HOME, '.docker'));
  let mountinfo = src.mountinfo;
  if (mountinfo === undefined) {
    try {
      mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      mountinfo = '';
    }
  }
  for (const m of mountPointsFromMountinfo(mountinfo)) if (m !== '/') out.add(m);
  for (const e of extra) {
    if (!path.isAbsolute(e)) throw new Error(`--ignore-path "${e}": expected an absolute path`);
    out.add(e);
  }
  return [...out].map((p) => path.resolve(p)).filter((p) => p !== '/').sort().filter((p, i, a) => a.indexOf(p) === i);
}
