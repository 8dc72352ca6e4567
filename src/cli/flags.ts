// Flag parsing shared by the CLIs: Go/pflag-style values (kaniko's users pass them), the registry
// and logging flags that several commands take, and commander's errors as user errors.
import { Command, CommanderError } from 'commander';
import { UserError, log, parseFormat, parseLevel } from '../log';
import type { TransportOptions } from '../registry';

export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Go's pflag accepts `--flag`, `--flag=true|false|1|0|t|f`: kaniko users pass all of them. */
export function parseBool(flag: string) {
  return (v: string | boolean | undefined): boolean => {
    if (v === undefined || v === true) return true;
    switch (String(v).toLowerCase()) {
      case '1': case 't': case 'true': return true;
      case '0': case 'f': case 'false': return false;
    }
    throw new UserError(`invalid value "${v}" for --${flag}: expected true or false`);
  };
}

export function intArg(v: string, flag: string): number {
  if (!/^\d+$/.test(v)) throw new UserError(`invalid value "${v}" for --${flag}: expected a whole number`);
  return Number(v);
}

export function keyValue(entries: string[], flag: string, sep = '='): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf(sep);
    if (i <= 0) throw new UserError(`invalid value "${e}" for --${flag}: expected KEY${sep}VALUE`);
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/** --registry-map index.docker.io=mirror.gcr.io;other.io (kaniko: ';'-separated targets, repeatable) */
export function registryMaps(entries: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of entries) {
    // one flag per entry: repeating a source registry adds targets (kaniko appends)
    for (const [from, to] of Object.entries(keyValue([e], 'registry-map'))) {
      out[from] = [...(out[from] ?? []), ...to.split(';').filter(Boolean)];
    }
  }
  return out;
}

/** The pull-side registry flags that the executor and the warmer share. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('--insecure-pull [bool]', 'pull from plain-HTTP registries', parseBool('insecure-pull'))
    .option('--insecure-registry <host>', 'use plain HTTP for this registry (repeatable)', collect, [])
    .option('--skip-tls-verify-pull [bool]', 'do not verify TLS certificates when pulling', parseBool('skip-tls-verify-pull'))
    .option('--skip-tls-verify-registry <host>', 'do not verify TLS certificates of this registry (repeatable)', collect, [])
    .option('--registry-certificate <host=path>', 'CA certificate to trust for a registry (repeatable)', collect, [])
    .option('--registry-client-cert <host=cert,key>', 'TLS client certificate and key for a registry (repeatable)', collect, [])
    .option('--registry-mirror <host>', 'mirror for docker.io pulls, tried in order (repeatable)', collect, [])
    .option('--registry-map <from=to[;to2]>', 'pull images of registry FROM from TO instead (repeatable)', collect, [])
    .option('--skip-default-registry-fallback [bool]', 'fail instead of falling back to the original registry when mirrors fail', parseBool('skip-default-registry-fallback'));
}

/** TransportOptions from the flags added by addRegistryFlags (plus --insecure/--skip-tls-verify). */
export function registryOptions(o: Record<string, any>): TransportOptions {
  return {
    insecure: !!o.insecure,
    insecurePull: !!o.insecurePull,
    insecureRegistries: o.insecureRegistry,
    skipTlsVerify: !!o.skipTlsVerify,
    skipTlsVerifyPull: !!o.skipTlsVerifyPull,
    skipTlsVerifyRegistries: o.skipTlsVerifyRegistry,
    registryCertificates: keyValue(o.registryCertificate, 'registry-certificate'),
    registryClientCerts: keyValue(o.registryClientCert, 'registry-client-cert'),
    mirrors: o.registryMirror,
    registryMap: registryMaps(o.registryMap),
    skipDefaultRegistryFallback: !!o.skipDefaultRegistryFallback,
  };
}

export function addLogFlags(cmd: Command): Command {
  return cmd
    .option('-v, --verbosity <level>', 'log level: trace, debug, info, warn, error, fatal, panic', 'info')
    .option('--log-format <format>', 'log format: text, color or json', 'text')
    .option('--log-timestamp [bool]', 'prefix log lines with a timestamp', parseBool('log-timestamp'));
}

export function configureLogging(o: Record<string, any>): void {
  try {
    log.configure({ level: parseLevel(o.verbosity), format: parseFormat(o.logFormat), timestamps: !!o.logTimestamp });
  } catch (e) {
    throw new UserError((e as Error).message, { exitCode: 2 });
  }
}

/** A command that reports errors once (as UserError) instead of printing and exiting itself. */
export function newCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (s) => process.stdout.write(s), outputError: () => {} })
    .exitOverride()
    .allowExcessArguments(false);
}

/** Parse argv; false when help was shown (nothing more to do). */
export function parseCommand(cmd: Command, args: string[]): boolean {
  try {
    cmd.parse(args, { from: 'user' });
    return true;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return false;
      throw new UserError(e.message.replace(/^error: /, ''), { exitCode: 2 });
    }
    throw e;
  }
}
