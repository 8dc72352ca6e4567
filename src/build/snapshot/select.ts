// Pick the snapshotter for a build: overlay where it can be mounted (and the RUN runs in a root
// we can redirect, i.e. --isolation=chroot), the stat walk everywhere else, with the reason logged.
import * as path from 'node:path';
import { log } from '../../log';
import { OverlaySnapshotter, probeOverlay } from './overlay';
import { StatWalkSnapshotter } from './stat-walk';
import type { Snapshotter, SnapshotterOptions } from './types';

export interface SelectSnapshotterOptions extends SnapshotterOptions {
  isolation: 'chroot' | 'none';
  /** 'auto' (default) tries overlay first */
  prefer?: 'auto' | 'overlay' | 'stat-walk';
  /** scratch directory for overlay upper/work/merged, on the root's filesystem (default `<root>.overlay`) */
  scratch?: string;
}

export async function selectSnapshotter(opts: SelectSnapshotterOptions): Promise<{ snapshotter: Snapshotter; why: string }> {
  const prefer = opts.prefer ?? 'auto';
  let why: string;
  if (prefer === 'stat-walk') {
    why = 'stat-walk requested';
  } else if (opts.isolation === 'none') {
    why = 'stat-walk: with --isolation=none the root is / and cannot be an overlay';
  } else {
    const scratch = path.resolve(opts.scratch ?? path.resolve(opts.root) + '.overlay');
    const reason = await probeOverlay(path.dirname(scratch));
    if (reason === null) {
      return { snapshotter: new OverlaySnapshotter({ ...opts, scratch }), why: 'overlay: RUN writes into an overlay upper directory, which is the diff' };
    }
    why = `stat-walk: overlayfs not available (${reason})`;
  }
  log.info(`snapshots: ${why}`);
  return { snapshotter: new StatWalkSnapshotter(opts), why };
}
