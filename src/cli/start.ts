// The one entry of the installed commands: bin/launch runs `node dist/src/cli/start.js NAME ARGS...`
// (or the startup snapshot, which calls start() itself). Only NAME's module loads.
import type { CommandMain } from './run-main';

const commands: Record<string, () => CommandMain> = {
  // `executor push PATH ...` is the push command (the kaniko fork's subcommand), `executor version`
  // kaniko's own; anything else a build
  executor: () => (args) => {
    if (args.length === 1 && (args[0] === 'version' || args[0] === '--version')) return (require('./main') as typeof import('./main')).main(['version']);
    if (args[0] === 'push') return (require('./push') as typeof import('./push')).main(args.slice(1));
    return (require('./build') as typeof import('./build')).main(args);
  },
  drydock: () => require('./main').main,
  'jenkins-agent': () => require('./agent').main,
  'docker-credential-drydock': () => require('./credential-helper').main,
};

export const commandNames = Object.keys(commands);

let origin = 'not started through start()';

/** How this process got its modules (a build logs it at debug level). */
export function startOrigin(): string {
  return origin;
}

export function start(argv: string[], how = 'modules loaded at start'): void {
  origin = how;
  const [name, ...args] = argv;
  const load = commands[name];
  if (!load) {
    process.stderr.write(`drydock: no command "${name}" to start (one of: ${commandNames.join(', ')})\n`);
    process.exitCode = 2;
    return;
  }
  (require('./run-main') as typeof import('./run-main')).runMain(load(), args);
}

if (require.main === module) {
  // Node 22+ keeps compiled code between runs; it must be on before our modules load
  const { enableCompileCache } = require('node:module') as { enableCompileCache?: () => unknown };
  enableCompileCache?.();
  start(process.argv.slice(2));
}
