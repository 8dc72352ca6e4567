// Arguments + environment → what to start, with exactly the java command line that the
// jenkins/inbound-agent entrypoint (`jenkins-agent` in jenkinsci/docker-agent) builds:
//
//   $JAVA_BIN $JAVA_OPTIONS -jar $AGENT_FILE $SECRET $AGENT_NAME $TUNNEL $URL $WORKDIR
//            $WEB_SOCKET $DIRECT $PROTOCOLS $INSTANCE_IDENTITY $REMOTING_OPTS "$@"
//
// where each $X is an unquoted expansion (split into words) that is empty unless its env
// variable is set, and the env forms give way to the arguments the way that script decides
// (substring tests on "$@"). Where the script would hand remoting a command that cannot work
// (WebSocket with a tunnel, the same option twice on our own command line) we stop with a
// message instead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../log';
import { canonicalOption, remotingOptions, splitInlineValue } from './remoting-options';
import { hasGlobCharacters, splitUnquoted } from './shell-words';

export type Env = Record<string, string | undefined>;

export const DEFAULT_AGENT_FILE = '/usr/share/jenkins/agent.jar';

/** Run something other than remoting (`docker run -it IMAGE /bin/sh`). */
export interface CommandPlan {
  kind: 'command';
  argv: string[];
}

/** What remoting will be told about the controller, read back from its final arguments. */
export interface ConnectionSettings {
  /** the first -url: remoting tries the URLs in the order given */
  url?: string;
  /** every -url, in order */
  urls: string[];
  webSocket: boolean;
  tunnel?: string;
  direct?: string;
  instanceIdentity?: string;
  /** every -protocols value, joined with ',' */
  protocols?: string;
  /** as given: may be `@/path/to/file` */
  secret?: string;
  name?: string;
  workDir?: string;
  jnlpUrl?: string;
  /** remoting's deprecated transports: -connectTo HOST:PORT, -tcp PORTFILE (the controller connects) */
  connectTo?: string;
  tcpPortFile?: string;
  skipCertificateCheck: boolean;
  /** `-help` / `-version`: remoting prints and exits, no controller involved */
  informational: boolean;
}

export interface RemotingPlan {
  kind: 'remoting';
  /** $JAVA_BIN split into words: the program and any words after it */
  javaBin: string[];
  javaOptions: string[];
  /** the jar named by JENKINS_AGENT_FILE or the image default, before any download */
  agentFile: string;
  /** everything after `-jar FILE` */
  remotingArgs: string[];
  connection: ConnectionSettings;
  /** what the upstream script would have echoed, plus our notes */
  warnings: string[];
}

export type LaunchPlan = CommandPlan | RemotingPlan;

export interface PlanOptions {
  /** decides whether `args[0]` of a multi-word command line is a program; injectable for tests */
  isProgram?: (name: string, env: Env) => boolean;
}

/** The java command line for a plan; `jarPath` replaces the planned jar after a download. */
export function javaCommand(plan: RemotingPlan, jarPath?: string): string[] {
  const jar = jarPath !== undefined ? [jarPath] : splitUnquoted(plan.agentFile);
  return [...plan.javaBin, ...plan.javaOptions, '-jar', ...jar, ...plan.remotingArgs];
}

export function planLaunch(args: string[], env: Env, opts: PlanOptions = {}): LaunchPlan {
  if (isCommand(args, env, opts.isProgram ?? isProgramOnPath)) return { kind: 'command', argv: [...args] };

  const warnings: string[] = [];
  // The script's tests are substring matches on "$@" joined with spaces; reproduce them as such.
  const joined = args.join(' ');
  const set = (name: string): string | undefined => (env[name] ? env[name] : undefined);

  const tunnel = !joined.includes('-tunnel ') && set('JENKINS_TUNNEL') ? `-tunnel ${env.JENKINS_TUNNEL}` : '';
  let workDir = '';
  if (set('JENKINS_AGENT_WORKDIR')) {
    if (joined.includes('-workDir')) {
      warnings.push('Work directory is defined twice in command-line arguments and the environment variable; using the argument');
    } else {
      workDir = `-workDir ${env.JENKINS_AGENT_WORKDIR}`;
    }
  }
  const url = set('JENKINS_URL') ? `-url ${env.JENKINS_URL}` : '';
  const agentName = set('JENKINS_NAME') ? env.JENKINS_NAME : env.JENKINS_AGENT_NAME;
  const webSocket = env.JENKINS_WEB_SOCKET === 'true' ? '-webSocket' : '';
  const protocols = set('JENKINS_PROTOCOLS') ? `-protocols ${env.JENKINS_PROTOCOLS}` : '';
  const direct = set('JENKINS_DIRECT_CONNECTION') ? `-direct ${env.JENKINS_DIRECT_CONNECTION}` : '';
  const identity = set('JENKINS_INSTANCE_IDENTITY') ? `-instanceIdentity ${env.JENKINS_INSTANCE_IDENTITY}` : '';
  const javaBin = set('JENKINS_JAVA_BIN') ?? (set('JAVA_HOME') ? `${env.JAVA_HOME}/bin/java` : 'java');
  const javaOptions = set('JENKINS_JAVA_OPTS') ?? set('JAVA_OPTS') ?? '';

  let secret = '';
  if (set('JENKINS_SECRET')) {
    if (joined.includes(env.JENKINS_SECRET as string)) {
      warnings.push('SECRET is defined twice in command-line arguments and the environment variable; using the argument');
    } else {
      secret = `-secret ${env.JENKINS_SECRET}`;
    }
  }
  let name = '';
  if (agentName) {
    if (joined.includes(agentName)) {
      warnings.push('AGENT_NAME is defined twice in command-line arguments and the environment variable; using the argument');
    } else {
      name = `-name ${agentName}`;
    }
  }
  const agentFile = set('JENKINS_AGENT_FILE') ?? DEFAULT_AGENT_FILE;

  const fromEnv = [secret, name, tunnel, url, workDir, webSocket, direct, protocols, identity].flatMap(splitUnquoted);
  const remotingOpts = splitUnquoted(env.REMOTING_OPTS);
  const remotingArgs = [...fromEnv, ...remotingOpts, ...args];

  // Our own strictness: the same single-valued option twice among what the person typed
  // (REMOTING_OPTS and the arguments) is ambiguous, so refuse it.
  rejectRepeats(remotingOpts, args);
  const connection = readConnection(remotingArgs, warnings);
  noteEnvOverlaps(fromEnv, [...remotingOpts, ...args], warnings);
  rejectConflicts(connection);

  for (const [source, words] of [
    ['JAVA_BIN', splitUnquoted(javaBin)],
    [env.JENKINS_JAVA_OPTS ? 'JENKINS_JAVA_OPTS' : 'JAVA_OPTS', splitUnquoted(javaOptions)],
    ['REMOTING_OPTS', remotingOpts],
  ] as const) {
    const globbed = words.filter(hasGlobCharacters);
    if (globbed.length) {
      warnings.push(`${source} word(s) ${globbed.map((w) => JSON.stringify(w)).join(', ')} contain *, ? or [: jenkins/inbound-agent's sh would expand them against files; drydock passes them literally`);
    }
  }

  return {
    kind: 'remoting',
    javaBin: splitUnquoted(javaBin),
    javaOptions: splitUnquoted(javaOptions),
    agentFile,
    remotingArgs,
    connection,
    warnings,
  };
}

/**
 * One word that is not an option is a command, as upstream. More words whose first is not an
 * option are a command too when that first word is a program (`/bin/sh -c '...'`); otherwise
 * they are remoting's positional SECRET NAME, which never name a program.
 */
function isCommand(args: string[], env: Env, isProgram: (name: string, env: Env) => boolean): boolean {
  if (args.length === 0 || args[0].startsWith('-')) return false;
  if (args.length === 1) return true;
  return isProgram(args[0], env);
}

export function isProgramOnPath(name: string, env: Env): boolean {
  const executable = (p: string): boolean => {
    try {
      const st = fs.statSync(p);
      if (!st.isFile()) return false;
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return executable(name);
  return (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').some((dir) => dir && executable(path.join(dir, name)));
}

function rejectRepeats(remotingOpts: string[], args: string[]): void {
  const seen = new Map<string, { name: string; where: string }>();
  const scan = (words: string[], where: string): void => {
    for (let i = 0; i < words.length; i++) {
      const { name, value } = splitInlineValue(words[i]);
      const spec = remotingOptions[name];
      if (!spec) continue;
      if (spec.arity === 1 && value === undefined) i++;
      if (spec.repeatable) continue;
      const key = canonicalOption(name);
      const earlier = seen.get(key);
      if (earlier) {
        const shown = earlier.name === name ? name : `${key} (also spelled ${earlier.name === key ? name : earlier.name})`;
        throw new UserError(
          `${shown} is given twice (${earlier.where} and ${where}); remoting keeps only one value. Give it once.`,
          { exitCode: 2 },
        );
      }
      seen.set(key, { name, where });
    }
  };
  scan(remotingOpts, 'REMOTING_OPTS');
  scan(args, 'the arguments');
}

/** Walk remoting's final arguments the way its parser does, to learn where it will connect. */
function readConnection(words: string[], warnings: string[]): ConnectionSettings {
  const c: ConnectionSettings = { urls: [], webSocket: false, skipCertificateCheck: false, informational: false };
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (!word.startsWith('-') || word === '-') {
      positional.push(word);
      continue;
    }
    const { name, value: inline } = splitInlineValue(word);
    const spec = remotingOptions[name];
    if (!spec) {
      warnings.push(`unknown remoting option ${name}: passed through as a flag without value`);
      continue;
    }
    let value = inline;
    if (spec.arity === 1 && value === undefined) {
      value = words[++i];
      if (value === undefined) throw new UserError(`${name} needs a value (remoting option ${name} VALUE)`, { exitCode: 2 });
    }
    switch (canonicalOption(name)) {
      case '-url': c.urls.push(value as string); c.url ??= value; break;
      case '-name': c.name = value; break;
      case '-secret': c.secret = value; break;
      case '-webSocket': c.webSocket = true; break;
      case '-tunnel': c.tunnel = value; break;
      case '-direct': c.direct = value; break;
      case '-instanceIdentity': c.instanceIdentity = value; break;
      case '-protocols': c.protocols = c.protocols === undefined ? value : `${c.protocols},${value}`; break;
      case '-workDir': c.workDir = value; break;
      case '-jnlpUrl': c.jnlpUrl = value; break;
      case '-connectTo': c.connectTo = value; break;
      case '-tcp': c.tcpPortFile = value; break;
      case '-disableHttpsCertValidation':
      case '-noCertificateCheck': c.skipCertificateCheck = true; break;
      case '-help':
      case '-version': c.informational = true; break;
    }
  }
  // The inbound-agent's documented positional form: [SECRET] [AGENT_NAME]
  if (positional.length > 2) {
    throw new UserError(
      `too many positional arguments for remoting (${positional.length}); expected at most SECRET and AGENT_NAME. ` +
        'To run a command instead of the agent, give the command as the first argument.',
      { exitCode: 2 },
    );
  }
  if (positional[0] !== undefined) c.secret ??= positional[0];
  if (positional[1] !== undefined) c.name ??= positional[1];
  return c;
}

/** The script passes both the env form and the argument form of -url, -direct ...; say so. */
function noteEnvOverlaps(fromEnv: string[], typed: string[], warnings: string[]): void {
  const names = (words: string[]): Set<string> =>
    new Set(words.filter((w) => w.startsWith('-')).map((w) => canonicalOption(splitInlineValue(w).name)));
  const typedNames = names(typed);
  for (const n of names(fromEnv)) {
    if (typedNames.has(n)) warnings.push(`${n} comes from both the environment and the arguments; both are passed on, as jenkins/inbound-agent does`);
  }
}

function rejectConflicts(c: ConnectionSettings): void {
  if (c.webSocket && c.tunnel !== undefined) {
    throw new UserError(
      `-webSocket cannot be combined with -tunnel ${c.tunnel}: WebSocket agents connect through the controller's HTTP(S) URL. ` +
        'Unset JENKINS_TUNNEL / drop -tunnel, or unset JENKINS_WEB_SOCKET / drop -webSocket to use the TCP port.',
      { exitCode: 2 },
    );
  }
  if (c.webSocket && c.direct !== undefined) {
    throw new UserError(
      `-webSocket cannot be combined with -direct ${c.direct}: -direct connects to the TCP agent port. ` +
        'Unset JENKINS_DIRECT_CONNECTION / drop -direct, or drop WebSocket mode.',
      { exitCode: 2 },
    );
  }
  const connects = c.url ?? c.direct ?? c.jnlpUrl ?? c.connectTo ?? c.tcpPortFile;
  if (!c.informational && connects === undefined) {
    throw new UserError(
      'no Jenkins controller given: pass -url https://jenkins.example.com/ (or set JENKINS_URL), or -direct HOST:PORT. ' +
        'Run `jenkins-agent --help` for both ways to use this image.',
      { exitCode: 2 },
    );
  }
}
