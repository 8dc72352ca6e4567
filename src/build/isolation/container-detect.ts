// Are we inside a container? `--isolation=none` turns `/` into the image, which is only sane in a
// throw-away container. The signs are those kaniko (and genuinetools/bpfd proc) look for.
import * as fs from 'node:fs';

export interface ProbeFs {
  exists(p: string): boolean;
  read(p: string): string | undefined;
}

export const realFs: ProbeFs = {
  exists: (p) => fs.existsSync(p),
  read: (p) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
};

const CGROUP_RUNTIMES = /\/(docker|kubepods|containerd|cri-containerd|crio|libpod|lxc|ecs|garden|buildkit|actions_job)[/\-.:]|\/docker-[0-9a-f]{12,}|\.scope.*(docker|libpod|crio|containerd)/;

/** The first sign found that we run in a container, or undefined when there is none. */
export function detectContainer(env: NodeJS.ProcessEnv = process.env, pfs: ProbeFs = realFs): string | undefined {
  if (pfs.exists('/.dockerenv')) return '/.dockerenv exists';
  if (pfs.exists('/run/.containerenv')) return '/run/.containerenv exists (podman)';
  if (env.KUBERNETES_SERVICE_HOST) return 'KUBERNETES_SERVICE_HOST is set';
  if (env.ECS_CONTAINER_METADATA_URI_V4 || env.ECS_CONTAINER_METADATA_URI) return 'ECS container metadata URI is set';
  if (env.AWS_EXECUTION_ENV?.startsWith('AWS_ECS')) return `AWS_EXECUTION_ENV=${env.AWS_EXECUTION_ENV}`;
  if (env.container) return `container=${env.container} is set`;
  const environ1 = pfs.read('/proc/1/environ');
  if (environ1 && /(^|\0)container=/.test(environ1)) return 'pid 1 has container= in its environment';
  for (const f of ['/proc/1/cgroup', '/proc/self/cgroup']) {
    const cg = pfs.read(f);
    const m = cg && CGROUP_RUNTIMES.exec(cg);
    if (m) return `${f} names a container runtime (${m[0]})`;
  }
  return undefined;
}
