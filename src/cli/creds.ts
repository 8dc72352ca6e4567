// `drydock creds`: compose config.json from S3/SSM/ECR, show which credential a registry gets,
// and log in / out like `docker login`. Flags → options → src/credentials; no logic here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { composeDockerConfig, createKeychain, dockerConfigDir } from '../credentials';
import { loginToConfig, logoutFromConfig } from '../credentials/login';
import { UserError, registerSecret } from '../log';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseSecretFlag(value: string): { registry: string; source: string } {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UserError(`--secret "${value}": expected REGISTRY=SOURCE, e.g. docker.io=ssm:/ci/dockerhub`);
  return { registry: value.slice(0, eq), source: value.slice(eq + 1) };
}

function mask(s: string | undefined): string {
  return s ? `*** (${s.length} characters, hidden)` : '(none)';
}

function readStdin(): string {
  try {
    return fs.readFileSync(0, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read the password from stdin: ${(e as Error).message}`);
  }
}

export function buildCommand(env: NodeJS.ProcessEnv, out: (s: string) => void): Command {
  const program = new Command('drydock creds')
    .description('compose, inspect and use registry credentials (config.json, credential helpers, ECR, S3, SSM)')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();

  program
    .command('compose')
    .description('write $DOCKER_CONFIG/config.json (atomically, mode 0600, merged with what is there) from S3, SSM and ECR')
    .option('--config-dir <dir>', 'directory of config.json (default: $DOCKER_CONFIG, else ~/.docker)')
    .option('--config <s3-url>', 'merge a whole config.json from s3://bucket/key (repeatable)', collect, [])
    .option('--secret <registry=source>', 'credentials for REGISTRY from a "user:token" secret at s3://bucket/key or ssm:/parameter (repeatable)', collect, [])
    .option('--ecr <account-or-host>', 'log in to ECR with the task role: 12-digit account id (in AWS_REGION) or registry host (repeatable)', collect, [])
    .action(async (o: { configDir?: string; config: string[]; secret: string[]; ecr: string[] }) => {
      if (!o.config.length && !o.secret.length && !o.ecr.length) throw new UserError('creds compose: nothing to compose; give --config, --secret or --ecr');
      const r = await composeDockerConfig(
        { configDir: o.configDir ?? dockerConfigDir(env), configSources: o.config, secrets: o.secret.map(parseSecretFlag), ecr: o.ecr },
        { env },
      );
      out(`wrote ${r.path} (${r.registries.length} registries: ${r.registries.join(', ') || '-'})\n`);
    });

  program
    .command('get')
    .description('show which credential would be used for a registry and where it comes from (secrets hidden)')
    .argument('<registry>', 'registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com or docker.io')
    .option('--json', 'print JSON')
    .action(async (registry: string, o: { json?: boolean }) => {
      const r = await createKeychain({ env }).lookup(registry);
      const a = r.auth;
      const shown = {
        registry: r.registry,
        source: r.source,
        username: a.username ?? null,
        password: a.password ? mask(a.password) : null,
        identityToken: a.identityToken ? mask(a.identityToken) : null,
        registryToken: a.registryToken ? mask(a.registryToken) : null,
      };
      if (o.json) out(JSON.stringify(shown, null, 2) + '\n');
      else for (const [k, v] of Object.entries(shown)) if (v !== null) out(`${k}: ${v}\n`);
    });

  program
    .command('login')
    .description('store credentials for a registry in config.json (or its credential helper), like `docker login`')
    .argument('<registry>', 'registry host')
    .requiredOption('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin: arguments are visible to other processes)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--config-dir <dir>', 'directory of config.json (default: $DOCKER_CONFIG, else ~/.docker)')
    .option('--no-verify', 'store without checking the credentials against the registry first')
    .option('--registry-certificate <path>', 'CA certificate to trust for the registry when checking')
    .action(async (registry: string, o: { username: string; password?: string; passwordStdin?: boolean; configDir?: string; verify: boolean; registryCertificate?: string }) => {
      if (o.password && o.passwordStdin) throw new UserError('creds login: give --password or --password-stdin, not both');
      const password = o.passwordStdin ? readStdin().replace(/\r?\n$/, '') : o.password;
      if (!password) throw new UserError('creds login: no password; use --password-stdin');
      registerSecret(password);
      if (o.verify) await verifyLogin(registry, o.username, password, o.registryCertificate);
      const where = await loginToConfig(registry, o.username, password, path.join(o.configDir ?? dockerConfigDir(env), 'config.json'), env);
      out(`Login Succeeded: credentials for ${registry} stored in ${where}\n`);
    });

  program
    .command('logout')
    .description('remove the credentials for a registry from config.json (or its credential helper)')
    .argument('<registry>', 'registry host')
    .option('--config-dir <dir>', 'directory of config.json (default: $DOCKER_CONFIG, else ~/.docker)')
    .action(async (registry: string, o: { configDir?: string }) => {
      const removed = await logoutFromConfig(registry, path.join(o.configDir ?? dockerConfigDir(env), 'config.json'), env);
      out(removed ? `Removing login credentials for ${registry} (${removed})\n` : `Not logged in to ${registry}\n`);
    });
  return program;
}

export async function main(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const program = buildCommand(env, (s) => process.stdout.write(s));
  if (args.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}

/** docker login's check: the registry must accept the credentials before they are stored. */
async function verifyLogin(registry: string, username: string, password: string, ca?: string): Promise<void> {
  const { RegistryClient } = require('../registry') as typeof import('../registry');
  const { StaticKeychain } = require('../credentials/keychain') as typeof import('../credentials/keychain');
  const { normalizeRegistryHost } = require('../image/reference') as typeof import('../image/reference');
  const host = normalizeRegistryHost(registry);
  await RegistryClient.using({
    keychain: new StaticKeychain({ [host === 'docker.io' ? 'index.docker.io' : host]: { username, password } }),
    registryCertificates: ca ? { [host]: ca } : undefined,
    retries: 1,
  }, (client) => client.checkLogin(host));
}
