// Second half of `npm run build` (and so of `npm ci` and `npm test`): make the startup snapshot that
// bin/launch starts the commands from (src/cli/startup-snapshot.ts says what is in it), for the
// node running this. Never fails the build: without a snapshot the commands load their modules
// as usual, only ~70-100 ms slower.
//
//   node dist/src/cli/make-snapshot.js [OUT_DIR=dist/snapshot]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SNAPSHOT_BLOB = 'drydock.blob';
/** "<size> <mtime in whole seconds>" of the node binary the snapshot is for: bin/launch compares it */
export const NODE_STAMP = 'node.stamp';

export function nodeStamp(nodePath: string): string {
  const st = fs.statSync(nodePath);
  return `${st.size} ${Math.floor(st.mtimeMs / 1000)}`;
}

/**
 * Make the snapshot in outDir; returns why not, or null when it was made and starts. It is made
 * beside outDir and moved in whole, so a command starting meanwhile finds the old one or none.
 */
export function makeSnapshot(outDir: string, node = process.execPath): string | null {
  const making = `${outDir}.making-${process.pid}`;
  fs.rmSync(making, { recursive: true, force: true });
  fs.mkdirSync(making, { recursive: true });
  const blob = path.join(making, SNAPSHOT_BLOB);
  const why = (() => {
    // node runs the builder as a plain script without `exports`, which tsc's output refers to
    const entry = path.join(__dirname, 'startup-snapshot.js');
    const builder = path.join(making, 'builder.js');
    fs.writeFileSync(builder, `const file = ${JSON.stringify(entry)};
require('node:vm').compileFunction(require('node:fs').readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file })({}, require, {}, file, ${JSON.stringify(__dirname)});
`);
    // for node without options: V8 options in NODE_OPTIONS would be baked in, and node refuses a
    // snapshot made with other V8 options than its own (bin/launch starts none when it is set)
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const made = spawnSync(node, ['--snapshot-blob', blob, '--build-snapshot', builder], { encoding: 'utf8', env });
    if (made.status !== 0) return `node --build-snapshot exited ${made.status ?? made.signal}: ${nodeError(made.stderr)}`;
    // a snapshot that cannot start a command is worse than none
    const tried = spawnSync(node, ['--snapshot-blob', blob, path.join(__dirname, 'start.js'), 'drydock', '--version'], { encoding: 'utf8', env });
    if (tried.status !== 0 || !/^drydock \d/.test(tried.stdout)) return `starting from it failed (exit ${tried.status ?? tried.signal}): ${nodeError(tried.stderr)}`;
    fs.writeFileSync(path.join(making, NODE_STAMP), `${nodeStamp(node)}\n`);
    return null;
  })();
  fs.rmSync(outDir, { recursive: true, force: true });
  if (why) {
    fs.rmSync(making, { recursive: true, force: true });
    return why;
  }
  try {
    fs.renameSync(making, outDir);
  } catch (err) {
    // another build put one there meanwhile: keep that
    fs.rmSync(making, { recursive: true, force: true });
    return `cannot move it into ${outDir}: ${(err as Error).message}`;
  }
  return null;
}

/** The error node printed (its message, not its stack), else its last lines. */
function nodeError(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !/not yet fully verified|may still work|To request support|--trace-warnings/.test(l));
  return lines.find((l) => /^\s*\w*Error\b/.test(l))?.trim() ?? lines.slice(-3).join(' | ');
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? path.join(__dirname, '../../snapshot'));
  const why = makeSnapshot(out);
  if (why) process.stderr.write(`drydock: no startup snapshot (${why}); the commands will load their modules at start\n`);
}
