// What the builder asks of a snapshotter around each RUN.
import type { LayerEntry } from '../../fs';

export type { LayerEntry };

export interface Snapshotter {
  readonly name: 'stat-walk' | 'overlay';
  /** Before a RUN. Cheap when the previous finish() (plus addKnownChanges) already knows the root. */
  begin(): Promise<void>;
  /**
   * The directory the RUN must use as its root (chroot into it). For stat-walk it is the rootfs
   * itself; for overlay it is the merged mount, valid between begin() and finish().
   */
  runRoot(): string;
  /**
   * After the RUN: the change as layer entries, sorted parents first; deletions are whiteouts
   * (one for the top of a deleted subtree), a replaced directory is an opaque whiteout plus its
   * whole new content. `source` paths point into the rootfs and stay valid until the next begin().
   */
  finish(): Promise<LayerEntry[]>;
  /** COPY/ADD wrote (or deleted) these in-image paths: update the remembered state without a walk. */
  addKnownChanges(paths: string[]): Promise<void>;
  /** Forget the remembered state (the root was changed behind our back): the next begin() walks. */
  invalidate(): void;
  /** Work done so far, for tests and debug logs. */
  readonly counters: { lstat: number; readdir: number };
}

export interface SnapshotterOptions {
  /** host directory holding the image root (`/` for --isolation=none) */
  root: string;
  /** absolute in-image paths never walked nor reported (with root `/`, these are host paths) */
  ignore?: string[];
  /** in-image paths the isolation writes and restores around a step (Isolation.transientPaths) */
  transient?: () => string[];
  /** about how many paths the root holds (the entries unpacked into it), known before any walk */
  sizeHint?: () => number;
  /** stat walk: threads for a big root, this one included (default parallel-walk's walkersAvailable(); 1: no workers) */
  walkers?: number;
  /** stat walk: paths the last walk saw before workers walk (default parallel-walk's PARALLEL_MIN_PATHS) */
  parallelMinPaths?: number;
}
