// The parsed form of a Dockerfile. Every word is kept exactly as written (unexpanded, quotes
// included where Docker would process them later), because variables are expanded by the
// builder at execution time with the stage's current ARG/ENV values.

export type EscapeChar = '\\' | '`';

export interface Heredoc {
  /** The delimiter word with quotes removed, e.g. EOF, or a file name for COPY <<a.txt. */
  name: string;
  /** The body, one "\n" per line. For <<- the leading tabs are already removed. */
  content: string;
  /** False when the delimiter was quoted (<<"EOF" or <<'EOF'): the body is used literally. */
  expand: boolean;
  /** True for <<- (leading tabs were stripped from the body and the terminator). */
  chomp: boolean;
  /** The file descriptor written before <<, e.g. 2 for 2<<EOF; undefined when none. */
  fd?: number;
}

/** The command of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD. */
export type CommandForm =
  | { form: 'exec'; args: string[] }
  /** Shell form: passed to the shell unexpanded (the shell expands variables). */
  | { form: 'shell'; text: string };

interface InstructionBase {
  /** 1-based line where the instruction starts. */
  line: number;
  /** 1-based line where it ends (continuations and heredoc bodies included). */
  endLine: number;
  /** The logical line as written, continuations joined, comments dropped: "RUN apt-get …". */
  text: string;
  /** The instruction keyword as written (case kept), e.g. "run". */
  keyword: string;
}

export interface FromInstruction extends InstructionBase {
  kind: 'from';
  image: string;
  /** Lower-cased stage name from AS, if any. */
  stageName?: string;
  /** Unexpanded --platform value. */
  platform?: string;
}

export interface ArgDefinition {
  name: string;
  /** Unexpanded default value; undefined for `ARG NAME` without a default. */
  value?: string;
}

export interface ArgInstruction extends InstructionBase {
  kind: 'arg';
  args: ArgDefinition[];
}

/** A key/value pair of ENV or LABEL; both sides unexpanded unless produced with a lookup. */
export interface KeyValue {
  key: string;
  value: string;
}

export interface EnvInstruction extends InstructionBase {
  kind: 'env';
  pairs: KeyValue[];
}

export interface LabelInstruction extends InstructionBase {
  kind: 'label';
  pairs: KeyValue[];
}

export interface MaintainerInstruction extends InstructionBase {
  kind: 'maintainer';
  maintainer: string;
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'workdir';
  path: string;
}

export interface UserInstruction extends InstructionBase {
  kind: 'user';
  user: string;
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'expose';
  /** Unexpanded words; expand each with expandWords (one word may become several). */
  ports: string[];
}

export interface VolumeInstruction extends InstructionBase {
  kind: 'volume';
  /** Unexpanded paths; expand each with expandWord. */
  paths: string[];
  json: boolean;
}

export interface StopsignalInstruction extends InstructionBase {
  kind: 'stopsignal';
  signal: string;
}

export interface HealthcheckOptions {
  /** Durations in nanoseconds as in the image config; undefined when not given. */
  intervalNs?: number;
  timeoutNs?: number;
  startPeriodNs?: number;
  startIntervalNs?: number;
  retries?: number;
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'healthcheck';
  /** undefined for HEALTHCHECK NONE (disables any inherited check). */
  command?: CommandForm;
  options: HealthcheckOptions;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'shell';
  shell: string[];
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'onbuild';
  /** The trigger as stored in the image config, e.g. "RUN make". */
  expression: string;
  trigger: Instruction;
}

export interface CmdInstruction extends InstructionBase {
  kind: 'cmd';
  command: CommandForm;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'entrypoint';
  command: CommandForm;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

/** A RUN --mount value. Fields are strings exactly as written or after expansion (see parseMountSpec). */
export interface MountSpec {
  type: MountType;
  target?: string;
  source?: string;
  from?: string;
  id?: string;
  /** Resolved default: bind, secret and ssh are read-only, cache and tmpfs are writable. */
  readonly: boolean;
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  sharing?: CacheSharing;
  size?: string;
  env?: string;
}

export interface MountFlag {
  /** The --mount value as written; re-parse it with parseMountSpec(raw, expand) when it holds $. */
  raw: string;
  /** Parsed without expansion (numeric fields holding $ are left undefined). */
  spec: MountSpec;
}

export interface RunInstruction extends InstructionBase {
  kind: 'run';
  command: CommandForm;
  mounts: MountFlag[];
  network?: 'default' | 'none' | 'host';
  security?: 'sandbox' | 'insecure';
  heredocs: Heredoc[];
}

export interface CopyFlags {
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
}

export interface AddFlags {
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir: boolean;
  unpack?: boolean;
}

export interface CopyInstruction extends InstructionBase {
  kind: 'copy';
  flags: CopyFlags;
  /** Unexpanded source words, heredoc sources excluded (they are in `heredocs`). */
  sources: string[];
  dest: string;
  json: boolean;
  /** Heredoc sources: each becomes a file named `name` holding `content`. */
  heredocs: Heredoc[];
}

export interface AddInstruction extends InstructionBase {
  kind: 'add';
  flags: AddFlags;
  sources: string[];
  dest: string;
  json: boolean;
  heredocs: Heredoc[];
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | EnvInstruction
  | LabelInstruction
  | MaintainerInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | ShellInstruction
  | OnbuildInstruction
  | CmdInstruction
  | EntrypointInstruction
  | RunInstruction
  | CopyInstruction
  | AddInstruction;

export type InstructionKind = Instruction['kind'];

export interface Stage {
  index: number;
  /** Lower-cased AS name, if any. */
  name?: string;
  /** Unexpanded image word of FROM (expand with the global ARGs). */
  baseImage: string;
  /** Unexpanded --platform value of FROM. */
  platform?: string;
  from: FromInstruction;
  /** The instructions after FROM, in order. */
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  file: string;
  escape: EscapeChar;
  /** Value of a `# syntax=` directive: not used, recorded so the builder can say so. */
  syntax?: string;
  /** ARG instructions before the first FROM (visible in FROM lines only). */
  globalArgs: ArgInstruction[];
  stages: Stage[];
  /** Non-fatal findings, e.g. empty continuation lines. */
  warnings: string[];
}
