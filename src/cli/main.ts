// `drydock COMMAND ...`: dispatch to one module per command. Modules load lazily so that a
// command's start-up does not pay for the others.
import type { CommandMain } from './run-main';

interface CommandEntry {
  summary: string;
  // require, not import(): the output is CommonJS and import() would go through the ESM loader
  load: () => Promise<{ main: CommandMain }>;
}

const commands: Record<string, CommandEntry> = {
  build: { summary: 'build an image from a Dockerfile (kaniko executor flags; also installed as `executor`)', load: async () => require('./build') },
  push: { summary: 'push an image an earlier build kept (OCI layout or docker-archive tarball; also `executor push`)', load: async () => require('./push') },
  warm: { summary: 'pre-fetch base images into the cache dir (like kaniko\'s warmer)', load: async () => require('./warm') },
  creds: { summary: 'compose, inspect and use registry credentials (config.json, helpers, ECR, S3, SSM)', load: async () => require('./creds') },
  agent: { summary: 'Jenkins inbound-agent entrypoint (installed as `jenkins-agent`)', load: async () => require('./agent') },
  info: { summary: 'show what this container lets a build do (RUN isolation, snapshots, credentials, proxies, CAs)', load: async () => require('./info') },
  serve: { summary: 'run the builder sidecar: builds asked for over a unix socket by another container of the task', load: async () => require('./serve') },
  remote: { summary: 'run a build in the builder sidecar (also `executor` with DRYDOCK_REMOTE=SOCKET), or check its health', load: async () => require('./remote') },
  'credential-helper': { summary: 'docker credential helper protocol (installed as `docker-credential-drydock`)', load: async () => require('./credential-helper') },
};

function usage(): string {
  const lines = ['Usage: drydock COMMAND [OPTIONS]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(18)} ${c.summary}`);
  lines.push('', 'Run `drydock COMMAND --help` for the options of a command.');
  return lines.join('\n');
}

export const main: CommandMain = async (args) => {
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`drydock ${require('../../../package.json').version}\n`);
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`drydock: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const mod = await entry.load();
  return mod.main(rest);
};


