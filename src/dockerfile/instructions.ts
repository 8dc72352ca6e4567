// One parse function per instruction: logical-line arguments in, typed instruction out.
// Nothing is expanded here; see expand.ts and expandsVariables().
import { InstructionError } from './errors';
import { parseGoDuration } from './duration';
import { extractFlags, parseFlags, type FlagValues } from './flags';
import { parseMountSpec } from './mount';
import { parseArgDefinitions, parseKeyValues, splitOnWhitespace } from './words';
import type {
  AddFlags,
  CommandForm,
  CopyFlags,
  EscapeChar,
  HealthcheckOptions,
  Heredoc,
  Instruction,
  MountFlag,
} from './types';

/** What every instruction parser receives. */
export interface RawInstruction {
  keyword: string;
  /** Arguments after the flags, trimmed. */
  args: string;
  flags: FlagValues;
  text: string;
  line: number;
  endLine: number;
  escape: EscapeChar;
  heredocs: Heredoc[];
}

export const instructionKeywords = [
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label',
  'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
] as const;

const usage: Record<string, string> = {
  add: 'ADD [flags] <src>... <dest>',
  arg: 'ARG <name>[=<default value>]',
  cmd: 'CMD <command> or CMD ["executable", "arg"...]',
  copy: 'COPY [flags] <src>... <dest>',
  entrypoint: 'ENTRYPOINT <command> or ENTRYPOINT ["executable", "arg"...]',
  env: 'ENV <key>=<value> ...',
  expose: 'EXPOSE <port>[/<protocol>] ...',
  from: 'FROM [--platform=<platform>] <image> [AS <name>]',
  healthcheck: 'HEALTHCHECK [options] CMD <command> or HEALTHCHECK NONE',
  label: 'LABEL <key>=<value> ...',
  maintainer: 'MAINTAINER <name>',
  onbuild: 'ONBUILD <instruction>',
  run: 'RUN <command> or RUN ["executable", "arg"...]',
  shell: 'SHELL ["executable", "parameters"]',
  stopsignal: 'STOPSIGNAL <signal>',
  user: 'USER <user>[:<group>]',
  volume: 'VOLUME <path>... or VOLUME ["<path>", ...]',
  workdir: 'WORKDIR <path>',
};

export function usageOf(keyword: string): string {
  return usage[keyword.toLowerCase()] ?? keyword.toUpperCase();
}

/** Splits an instruction line into keyword, flags and arguments. */
export function splitInstruction(text: string): { keyword: string; flagWords: string[]; args: string } {
  const trimmed = text.trim();
  const m = /^(\S+)(?:[\t\v\f\r ]+([\s\S]*))?$/.exec(trimmed);
  const keyword = m?.[1] ?? trimmed;
  const after = m?.[2] ?? '';
  const { flags, rest } = extractFlags(after);
  return { keyword, flagWords: flags, args: rest };
}

type JsonResult = { ok: true; args: string[] } | { ok: false };

// Docker treats text as exec form only when it parses as a JSON array; a JSON array holding
// anything but strings is an error; anything else (even starting with "[") is shell form.
function parseJsonArray(text: string, keyword: string): JsonResult {
  const t = text.replace(/^\s+/u, '');
  if (!t.startsWith('[')) return { ok: false };
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return { ok: false };
  }
  if (!Array.isArray(value)) return { ok: false };
  if (!value.every((v) => typeof v === 'string')) {
    throw new InstructionError(`${keyword.toUpperCase()} has a JSON array with non-string elements`, 'an array of strings only');
  }
  return { ok: true, args: value as string[] };
}

function requireArgs(raw: RawInstruction): void {
  if (raw.args === '') {
    throw new InstructionError(`${raw.keyword.toUpperCase()} has no arguments`, usageOf(raw.keyword));
  }
}

function commandForm(raw: RawInstruction): CommandForm {
  const json = parseJsonArray(raw.args, raw.keyword);
  if (json.ok) return { form: 'exec', args: json.args };
  requireArgs(raw);
  return { form: 'shell', text: raw.args };
}

function listForm(raw: RawInstruction): { words: string[]; json: boolean } {
  const json = parseJsonArray(raw.args, raw.keyword);
  if (json.ok) return { words: json.args, json: true };
  return { words: splitOnWhitespace(raw.args), json: false };
}

function base(raw: RawInstruction) {
  return { line: raw.line, endLine: raw.endLine, text: raw.text, keyword: raw.keyword };
}

function str(flags: FlagValues, name: string): string | undefined {
  return flags[name] as string | undefined;
}

function bool(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}

function list(flags: FlagValues, name: string): string[] {
  return (flags[name] as string[] | undefined) ?? [];
}

const stageNamePattern = /^[a-z][a-z0-9-_.]*$/;

function parseFrom(raw: RawInstruction): Instruction {
  requireArgs(raw);
  const words = splitOnWhitespace(raw.args);
  if (words.length === 2 || words.length > 3) {
    throw new InstructionError(`FROM has ${words.length} arguments`, usageOf('from'));
  }
  if (words.length === 3 && words[1].toLowerCase() !== 'as') {
    throw new InstructionError(`FROM's second argument is ${JSON.stringify(words[1])}`, `AS, as in ${usageOf('from')}`);
  }
  const from: Instruction = { kind: 'from', ...base(raw), image: words[0] };
  if (words.length === 3) {
    const name = words[2].toLowerCase();
    if (!name.includes('$') && !stageNamePattern.test(name)) {
      throw new InstructionError(
        `invalid stage name ${JSON.stringify(words[2])}`,
        'a name that starts with a letter and holds only letters, digits, "-", "_" and "."',
      );
    }
    from.stageName = name;
  }
  const platform = str(raw.flags, 'platform');
  if (platform !== undefined) from.platform = platform;
  return from;
}

function parseRun(raw: RawInstruction): Instruction {
  const command = commandForm(raw);
  const mounts: MountFlag[] = list(raw.flags, 'mount').map((m) => ({ raw: m, spec: parseMountSpec(m) }));
  const run: Instruction = { kind: 'run', ...base(raw), command, mounts, heredocs: command.form === 'shell' ? raw.heredocs : [] };
  const network = str(raw.flags, 'network');
  if (network !== undefined) {
    if (network !== 'default' && network !== 'none' && network !== 'host') {
      throw new InstructionError(`unsupported network mode ${JSON.stringify(network)} in RUN --network`, '--network=default, --network=none or --network=host');
    }
    run.network = network;
  }
  const security = str(raw.flags, 'security');
  if (security !== undefined) {
    if (security !== 'sandbox' && security !== 'insecure') {
      throw new InstructionError(`unsupported security mode ${JSON.stringify(security)} in RUN --security`, '--security=sandbox or --security=insecure');
    }
    run.security = security;
  }
  return run;
}

function sourcesAndDest(raw: RawInstruction): { sources: string[]; dest: string; json: boolean; heredocs: Heredoc[] } {
  const { words, json } = listForm(raw);
  if (words.length < 2) {
    throw new InstructionError(
      `${raw.keyword.toUpperCase()} requires at least two arguments, but got ${words.length}`,
      usageOf(raw.keyword),
    );
  }
  const dest = words[words.length - 1];
  const heredocs = json ? [] : raw.heredocs;
  // Heredoc words (<<EOF) are sources made from the heredoc bodies, not paths in the context.
  const heredocWords = new Set(heredocs.length > 0 ? words.filter((w) => /^\d*<<-?/.test(w)) : []);
  const sources = words.slice(0, -1).filter((w) => !heredocWords.has(w));
  return { sources, dest, json, heredocs };
}

function parseCopy(raw: RawInstruction): Instruction {
  const f = raw.flags;
  const flags: CopyFlags = { link: bool(f, 'link'), parents: bool(f, 'parents'), exclude: list(f, 'exclude') };
  for (const k of ['from', 'chown', 'chmod'] as const) {
    const v = str(f, k);
    if (v !== undefined) flags[k] = v;
  }
  return { kind: 'copy', ...base(raw), flags, ...sourcesAndDest(raw) };
}

function parseAdd(raw: RawInstruction): Instruction {
  const f = raw.flags;
  const flags: AddFlags = { link: bool(f, 'link'), exclude: list(f, 'exclude'), keepGitDir: bool(f, 'keep-git-dir') };
  for (const k of ['chown', 'chmod', 'checksum'] as const) {
    const v = str(f, k);
    if (v !== undefined) flags[k] = v;
  }
  if (f.unpack !== undefined) flags.unpack = f.unpack === true;
  return { kind: 'add', ...base(raw), flags, ...sourcesAndDest(raw) };
}

function healthDuration(flags: FlagValues, name: string): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  let ns: number;
  try {
    ns = parseGoDuration(v);
  } catch {
    throw new InstructionError(`HEALTHCHECK --${name}=${v} is not a duration`, `--${name}=30s (units ns, us, ms, s, m, h)`);
  }
  if (ns < 0) throw new InstructionError(`HEALTHCHECK --${name}=${v} is negative`, 'a duration of 0 (default) or at least 1ms');
  if (ns > 0 && ns < 1e6) throw new InstructionError(`HEALTHCHECK --${name}=${v} is shorter than 1ms`, 'a duration of 0 (default) or at least 1ms');
  return ns;
}

function parseHealthcheck(raw: RawInstruction): Instruction {
  requireArgs(raw);
  const m = /^(\S+)\s*([\s\S]*)$/.exec(raw.args) as RegExpExecArray;
  const type = m[1].toUpperCase();
  const rest = m[2];
  if (type === 'NONE') {
    if (rest !== '') throw new InstructionError('HEALTHCHECK NONE takes no arguments', 'HEALTHCHECK NONE alone');
    if (Object.keys(raw.flags).length > 0) {
      throw new InstructionError('HEALTHCHECK NONE takes no options', 'HEALTHCHECK NONE alone');
    }
    return { kind: 'healthcheck', ...base(raw), options: {} };
  }
  if (type !== 'CMD') {
    throw new InstructionError(`unknown HEALTHCHECK type ${JSON.stringify(m[1])}`, usageOf('healthcheck'));
  }
  if (rest === '') throw new InstructionError('HEALTHCHECK CMD has no command', 'HEALTHCHECK [options] CMD <command>');
  const command = commandForm({ ...raw, args: rest });
  const options: HealthcheckOptions = {};
  const durations = [
    ['interval', 'intervalNs'],
    ['timeout', 'timeoutNs'],
    ['start-period', 'startPeriodNs'],
    ['start-interval', 'startIntervalNs'],
  ] as const;
  for (const [flag, field] of durations) {
    const ns = healthDuration(raw.flags, flag);
    if (ns !== undefined) options[field] = ns;
  }
  const retries = str(raw.flags, 'retries');
  if (retries !== undefined) {
    if (!/^[+-]?\d+$/.test(retries)) throw new InstructionError(`HEALTHCHECK --retries=${retries} is not a whole number`, '--retries=3');
    const n = parseInt(retries, 10);
    if (n < 0) throw new InstructionError(`HEALTHCHECK --retries=${retries} is negative`, 'a number of 0 or more');
    options.retries = n;
  }
  return { kind: 'healthcheck', ...base(raw), command, options };
}

function parseShell(raw: RawInstruction): Instruction {
  requireArgs(raw);
  const json = parseJsonArray(raw.args, raw.keyword);
  if (!json.ok) throw new InstructionError('SHELL is not in JSON form', usageOf('shell'));
  if (json.args.length === 0) throw new InstructionError('SHELL has an empty array', usageOf('shell'));
  return { kind: 'shell', ...base(raw), shell: json.args };
}

function parseSingle(raw: RawInstruction): string {
  requireArgs(raw);
  return raw.args;
}

/** Parses one instruction whose keyword is known (case-insensitive). ONBUILD is handled by the caller. */
export function parseInstruction(raw: RawInstruction): Instruction {
  const kind = raw.keyword.toLowerCase();
  switch (kind) {
    case 'from':
      return parseFrom(raw);
    case 'run':
      return parseRun(raw);
    case 'cmd':
      return { kind: 'cmd', ...base(raw), command: commandForm(raw) };
    case 'entrypoint':
      return { kind: 'entrypoint', ...base(raw), command: commandForm(raw) };
    case 'copy':
      return parseCopy(raw);
    case 'add':
      return parseAdd(raw);
    case 'arg':
      return { kind: 'arg', ...base(raw), args: parseArgDefinitions(raw.args, null, raw.escape) };
    case 'env':
      return { kind: 'env', ...base(raw), pairs: parseKeyValues(raw.args, null, raw.escape, 'ENV') };
    case 'label':
      return { kind: 'label', ...base(raw), pairs: parseKeyValues(raw.args, null, raw.escape, 'LABEL') };
    case 'maintainer':
      return { kind: 'maintainer', ...base(raw), maintainer: parseSingle(raw) };
    case 'workdir':
      return { kind: 'workdir', ...base(raw), path: parseSingle(raw) };
    case 'user':
      return { kind: 'user', ...base(raw), user: parseSingle(raw) };
    case 'stopsignal':
      return { kind: 'stopsignal', ...base(raw), signal: parseSingle(raw) };
    case 'expose':
      requireArgs(raw);
      return { kind: 'expose', ...base(raw), ports: splitOnWhitespace(raw.args) };
    case 'volume': {
      requireArgs(raw);
      const { words, json } = listForm(raw);
      if (words.length === 0 || words.some((w) => w.trim() === '')) {
        throw new InstructionError('VOLUME has an empty path', usageOf('volume'));
      }
      return { kind: 'volume', ...base(raw), paths: words, json };
    }
    case 'healthcheck':
      return parseHealthcheck(raw);
    case 'shell':
      return parseShell(raw);
    default:
      throw new InstructionError(`unknown instruction ${JSON.stringify(raw.keyword)}`, `one of ${instructionKeywords.map((k) => k.toUpperCase()).join(', ')}`);
  }
}

export { parseFlags };
