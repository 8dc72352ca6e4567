// Instructions that change only the image config (and WORKDIR, which may also create a directory).
import type {
  ArgInstruction, CommandForm, EnvInstruction, ExposeInstruction, HealthcheckInstruction, Instruction,
  LabelInstruction, MaintainerInstruction, OnbuildInstruction, ShellInstruction, StopsignalInstruction,
  UserInstruction, VolumeInstruction, WorkdirInstruction, CmdInstruction, EntrypointInstruction,
} from '../../dockerfile/types';
import { editConfig } from '../../image/image';
import { UserError } from '../../log';
import type { StageBuilder } from '../stage';
import { needsNameLookup, resolveChown } from '../users';
import { setEnv } from '../variables';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export function shellOf(stage: StageBuilder): string[] {
  const s = stage.image.config.config?.Shell;
  return s && s.length ? s : DEFAULT_SHELL;
}

/** CMD/ENTRYPOINT/HEALTHCHECK command as argv: exec form as is, shell form through SHELL. */
export function commandArgv(stage: StageBuilder, c: CommandForm): string[] {
  return c.form === 'exec' ? c.args : [...shellOf(stage), c.text];
}

/** ARG needs only a scope and expansion: global ARGs (before FROM) have no stage. */
export function arg(stage: Pick<StageBuilder, 'args' | 'expand'>, i: ArgInstruction): void {
  for (const a of i.args) stage.args.declare(stage.expand(a.name), a.value === undefined ? undefined : stage.expand(a.value));
}

export function env(stage: StageBuilder, i: EnvInstruction): Promise<void> {
  // every value sees the environment from before this instruction (Docker's rule)
  const pairs = i.pairs.map((p) => ({ key: stage.expand(p.key), value: stage.expand(p.value) }));
  stage.image = editConfig(stage.image, (c) => {
    for (const p of pairs) c.Env = setEnv(c.Env, p.key, p.value);
  });
  return stage.noLayer(i);
}

export function label(stage: StageBuilder, i: LabelInstruction): Promise<void> {
  const pairs = i.pairs.map((p) => ({ key: stage.expand(p.key), value: stage.expand(p.value) }));
  stage.image = editConfig(stage.image, (c) => {
    c.Labels = { ...(c.Labels ?? {}) };
    for (const p of pairs) c.Labels[p.key] = p.value;
  });
  return stage.noLayer(i);
}

export function maintainer(stage: StageBuilder, i: MaintainerInstruction): Promise<void> {
  const who = stage.expand(i.maintainer);
  stage.image = editConfig(stage.image, (_c, file) => {
    file.author = who;
  });
  return stage.noLayer(i);
}

export function user(stage: StageBuilder, i: UserInstruction): Promise<void> {
  const u = stage.expand(i.user);
  if (!u) throw new UserError(`${stage.where(i)}: USER needs a user name or id, expected USER <user>[:<group>]`);
  stage.image = editConfig(stage.image, (c) => {
    c.User = u;
  });
  return stage.noLayer(i);
}

/** EXPOSE 80 8000-8002/udp → "80/tcp", "8000/udp", "8001/udp", "8002/udp" (Docker's nat.ParsePortSpecs). */
export function parsePorts(words: string[], where: string): string[] {
  const out: string[] = [];
  for (const w of words) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    if (!m) throw new UserError(`${where}: invalid port "${w}", expected PORT[-PORT][/tcp|udp|sctp]`);
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : from;
    if (to < from || to > 65535) throw new UserError(`${where}: invalid port range "${w}"`);
    for (let p = from; p <= to; p++) out.push(`${p}/${(m[3] ?? 'tcp').toLowerCase()}`);
  }
  return out;
}

export function expose(stage: StageBuilder, i: ExposeInstruction): Promise<void> {
  const ports = parsePorts(i.ports.flatMap((p) => stage.expandAll(p)), stage.where(i));
  stage.image = editConfig(stage.image, (c) => {
    c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
    for (const p of ports) c.ExposedPorts[p] = {};
  });
  return stage.noLayer(i);
}

export function volume(stage: StageBuilder, i: VolumeInstruction): Promise<void> {
  const paths = i.paths.map((p) => stage.expand(p)).filter((p) => p !== '');
  if (paths.length === 0) throw new UserError(`${stage.where(i)}: VOLUME specified can not be an empty string`);
  stage.image = editConfig(stage.image, (c) => {
    c.Volumes = { ...(c.Volumes ?? {}) };
    for (const p of paths) c.Volumes[p] = {};
  });
  return stage.noLayer(i);
}

/** Linux's signal names without "SIG", as moby's signal.ParseSignal knows them (RTMIN+n, RTMAX-n too). */
const SIGNAL_NAMES = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH',
  'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, n) => `RTMIN+${n + 1}`), ...Array.from({ length: 14 }, (_, n) => `RTMAX-${n + 1}`),
]);

/** A signal as Docker takes it: a number other than 0, or a name in any case, with or without "SIG". */
export function isSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) > 0;
  return SIGNAL_NAMES.has(s.toUpperCase().replace(/^SIG/, ''));
}

export function stopsignal(stage: StageBuilder, i: StopsignalInstruction): Promise<void> {
  const sig = stage.expand(i.signal);
  // checked at build time, as BuildKit does: a container runtime refuses a bad one only at `docker stop`
  if (!isSignal(sig)) throw new UserError(`${stage.where(i)}: invalid STOPSIGNAL "${sig}", expected a signal name such as SIGTERM or SIGQUIT, or a number`);
  stage.image = editConfig(stage.image, (c) => {
    c.StopSignal = sig;
  });
  return stage.noLayer(i);
}

export function healthcheck(stage: StageBuilder, i: HealthcheckInstruction): Promise<void> {
  stage.image = editConfig(stage.image, (c) => {
    if (!i.command) {
      c.Healthcheck = { Test: ['NONE'] };
      return;
    }
    const test = i.command.form === 'exec' ? ['CMD', ...i.command.args] : ['CMD-SHELL', i.command.text];
    const h: NonNullable<typeof c.Healthcheck> = { Test: test };
    if (i.options.intervalNs !== undefined) h.Interval = i.options.intervalNs;
    if (i.options.timeoutNs !== undefined) h.Timeout = i.options.timeoutNs;
    if (i.options.startPeriodNs !== undefined) h.StartPeriod = i.options.startPeriodNs;
    if (i.options.startIntervalNs !== undefined) h.StartInterval = i.options.startIntervalNs;
    if (i.options.retries !== undefined) h.Retries = i.options.retries;
    c.Healthcheck = h;
  });
  return stage.noLayer(i);
}

export function shell(stage: StageBuilder, i: ShellInstruction): Promise<void> {
  stage.image = editConfig(stage.image, (c) => {
    c.Shell = [...i.shell];
  });
  return stage.noLayer(i);
}

export function onbuild(stage: StageBuilder, i: OnbuildInstruction): Promise<void> {
  stage.image = editConfig(stage.image, (c) => {
    c.OnBuild = [...(c.OnBuild ?? []), i.expression];
  });
  return stage.noLayer(i);
}

export function cmd(stage: StageBuilder, i: CmdInstruction, state: { cmdSet: boolean }): Promise<void> {
  const argv = commandArgv(stage, i.command);
  stage.image = editConfig(stage.image, (c) => {
    c.Cmd = argv;
  });
  state.cmdSet = true;
  return stage.noLayer(i);
}

export function entrypoint(stage: StageBuilder, i: EntrypointInstruction, state: { cmdSet: boolean }): Promise<void> {
  const argv = commandArgv(stage, i.command);
  stage.image = editConfig(stage.image, (c) => {
    c.Entrypoint = argv;
    // a CMD inherited from the base no longer fits the new entrypoint (Docker resets it)
    if (!state.cmdSet) c.Cmd = null;
  });
  return stage.noLayer(i);
}

export async function workdir(stage: StageBuilder, i: WorkdirInstruction): Promise<void> {
  const p = stage.resolvePath(stage.expand(i.path));
  stage.image = editConfig(stage.image, (c) => {
    c.WorkingDir = p;
  });
  // Docker creates the directory if the image lacks it (through the image's symlinks: on a
  // merged-/usr base, WORKDIR /lib/app makes /usr/lib/app); an existing one keeps its owner and mode
  const real = p === '/' ? p : await stage.followLinks(p);
  if (real !== '/' && !(await stage.isDir(real))) {
    const missing = await missingDirs(stage, real);
    // owned by the USER in effect, as BuildKit and buildah make them (Docker's legacy builder: root)
    const user = stage.image.config.config?.User ?? '';
    const { uid, gid } = user ? resolveChown(needsNameLookup(user) ? await stage.rootfs() : null, user, stage.where(i), `WORKDIR ${p} under USER ${user}`) : { uid: 0, gid: 0 };
    await stage.addLayer(
      missing.map((d) => ({ path: d.slice(1), type: 'dir' as const, mode: 0o755, uid, gid, mtime: new Date(stage.env.created) })),
      i,
    );
  } else {
    await stage.noLayer(i);
  }
}

/** The ancestors of `p` (and `p`) that do not exist as directories in the stage, top first. */
export async function missingDirs(stage: StageBuilder, p: string): Promise<string[]> {
  const parts = p.split('/').filter(Boolean);
  const out: string[] = [];
  for (let k = 1; k <= parts.length; k++) {
    const d = '/' + parts.slice(0, k).join('/');
    if (!(await stage.isDir(d))) out.push(d);
  }
  return out;
}

export type MetadataInstruction = Exclude<Instruction, { kind: 'run' | 'copy' | 'add' | 'from' }>;
