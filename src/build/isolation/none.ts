// `--isolation=none`, the kaniko way: the image root is `/` of the container we run in, so a RUN
// is an ordinary child process. Safety comes from the ignore list (see ignore-paths.ts), which
// the builder hands to the snapshotter and the extractor, and from refusing to run outside a
// container unless forced.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../../log';
import { boundingArgs, type CapabilitySet } from './capabilities';
import { detectContainer, ProbeFs, realFs } from './container-detect';
import type { HostTools } from './host-tools';
import { runProcess, validateSpec } from './spawn-step';
import type { Isolation, RunResult, RunSpec } from './types';

export interface NoneOptions {
  caps: CapabilitySet;
  tools: HostTools;
  /** may create a network namespace (CAP_SYS_ADMIN, probed) */
  canUnshareNet: boolean;
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  probeFs?: ProbeFs;
}

export class NoneIsolation implements Isolation {
  readonly name = 'none' as const;
  readonly containerSign: string | undefined;

  constructor(private readonly opts: NoneOptions) {
    this.containerSign = detectContainer(opts.env ?? process.env, opts.probeFs ?? realFs);
    if (!this.containerSign && !opts.force) {
      throw new UserError(
        '--isolation=none makes / the image root: every RUN and base layer writes over this machine\'s own files, ' +
          'and no sign of a container was found (/.dockerenv, /run/.containerenv, container cgroups, KUBERNETES_SERVICE_HOST, ECS metadata). ' +
          'Run the executor in a container, use --isolation=chroot, or pass --force if you are sure.',
      );
    }
  }

  describe(): string {
    return `none (root is /; ${this.containerSign ? `container: ${this.containerSign}` : 'not in a container: forced'})`;
  }

  transientPaths(): string[] {
    return [];
  }

  async run(spec: RunSpec): Promise<RunResult> {
    validateSpec(spec);
    const t = this.opts.tools;
    // a missing WORKDIR belongs to the step's user, as in the chroot isolation
    const firstMade = await fsp.mkdir(spec.workdir, { recursive: true, mode: 0o755 });
    if (firstMade !== undefined && (spec.uid !== 0 || spec.gid !== 0)) {
      for (let d = spec.workdir; ; d = path.dirname(d)) {
        await fsp.lchown(d, spec.uid, spec.gid);
        if (d === firstMade || d === path.dirname(d)) break;
      }
    }
    let argv: string[] = [t.env ?? '/usr/bin/env', '-i', ...spec.env, ...spec.argv];
    const groups = spec.groups ?? [];
    const asRoot = spec.uid === 0 && spec.gid === 0 && groups.length === 0;
    if (!asRoot) {
      if (!t.setpriv) throw new UserError(`RUN as uid ${spec.uid} gid ${spec.gid}: --isolation=none needs util-linux setpriv on this host`);
      const missing = this.opts.caps.missing('CAP_SETUID', 'CAP_SETGID');
      if (missing.length) throw new UserError(`RUN as uid ${spec.uid} gid ${spec.gid}: this process lacks ${missing.join(' and ')}`);
      argv = [t.setpriv, `--reuid=${spec.uid}`, `--regid=${spec.gid}`, groups.length ? `--groups=${groups.join(',')}` : '--clear-groups', ...boundingArgs(spec), '--', ...argv];
    } else if (t.setpriv && boundingArgs(spec).length) {
      argv = [t.setpriv, ...boundingArgs(spec), '--', ...argv];
    }
    if (spec.network === 'none') {
      if (!this.opts.canUnshareNet || !t.unshare) {
        throw new UserError('RUN --network=none needs a network namespace, which needs CAP_SYS_ADMIN: not available to this process');
      }
      argv = [t.unshare, '--net', '--', ...argv];
    }
    if ((spec.binds?.length ?? 0) > 0 || (spec.tmpfs?.length ?? 0) > 0 || (spec.agentSockets?.length ?? 0) > 0) {
      throw new UserError('RUN --mount (bind, cache, secret, tmpfs) is not supported with --isolation=none: use --isolation=chroot');
    }
    return runProcess(argv, spec, { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, { cwd: spec.workdir });
  }
}
