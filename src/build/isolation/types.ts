// The contract between the builder and whatever runs a RUN step's process.
import type { Writable } from 'node:stream';

export interface BindMount {
  /** host path */
  source: string;
  /** absolute path inside the image root */
  target: string;
  readonly: boolean;
  /**
   * The source directory is the build's alone, so a runner that cannot mount may move it into
   * place instead of copying it: 'keep' moves it back after the step (a cache mount), 'discard'
   * drops what the step left (a writable bind's private copy).
   */
  owned?: 'keep' | 'discard';
}

export interface RunSpec {
  /** host directory that becomes `/` for the step (ignored by `none`, whose root is `/`) */
  rootfs: string;
  argv: string[];
  /** KEY=VALUE, passed to the step as its whole environment */
  env: string[];
  uid: number;
  gid: number;
  /** supplementary groups; none when absent */
  groups?: number[];
  /** absolute path inside the root; created (owned by root) when missing, as Docker does */
  workdir: string;
  network: 'default' | 'none' | 'host';
  binds?: BindMount[];
  /** absolute paths inside the root that get an empty tmpfs for the step */
  tmpfs?: string[];
  /** sockets made in the root for the step, each relaying to a host socket (an SSH agent) */
  agentSockets?: Array<{ target: string; upstream: string; mode: number; uid: number; gid: number }>;
  stdout: Writable;
  stderr: Writable;
  /**
   * a host directory of the build's own, out of every snapshot, where the step's output pipes
   * are made (see spawn-step.ts); without it, the system's temporary directory
   */
  scratch?: string;
  /** default "drydock" */
  hostname?: string;
  /**
   * sandbox (default): the step's capabilities are bounded by Docker's default set, as in
   * `docker build`; insecure (RUN --security=insecure): it keeps all the executor has.
   */
  security?: 'sandbox' | 'insecure';
}

export interface RunResult {
  exitCode: number;
  /** set when the step's process was killed by a signal (exitCode is then 128 + signal number) */
  signal?: string;
}

export interface Isolation {
  readonly name: 'chroot' | 'none';
  /** one line for the build log, e.g. "chroot (mount namespace: yes)" */
  describe(): string;
  /** what a step lacks here that programs commonly need (said when a step fails); undefined: nothing */
  readonly stepLimits?: string;
  run(spec: RunSpec): Promise<RunResult>;
  /**
   * In-image absolute paths this isolation writes into the root around a step and puts back
   * afterwards (/etc/resolv.conf, /dev/null, ...). A snapshotter must skip them.
   */
  transientPaths(): string[];
}
