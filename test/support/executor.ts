// Run the real executor CLI (bin/executor → dist) as a child process, as users and Jenkins do.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, run, tmpDir } from './testbed';

export interface ExecResult { code: number; stdout: string; stderr: string }

/** `under`: a command to run it through (e.g. setpriv dropping a capability), given the executor and args. */
export function runExecutor(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; bin?: string; under?: string[]; input?: Buffer } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const exe = path.join(REPO_ROOT, 'bin', opts.bin ?? 'executor');
    const [cmd, ...argv] = opts.under ? [...opts.under, exe, ...args] : [exe, ...args];
    const child = spawn(cmd, argv, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (opts.input) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Write a build context from a map of relative path → content (a string, or {content, mode}). */
export function makeContext(files: Record<string, string | { content: string; mode?: number }>): string {
  const dir = tmpDir('drydock-ctx-');
  for (const [rel, v] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const { content, mode } = typeof v === 'string' ? { content: v, mode: undefined } : v;
    fs.writeFileSync(p, content);
    if (mode !== undefined) fs.chmodSync(p, mode);
  }
  return dir;
}

/** Unpack an image (from an OCI layout) with umoci, the independent reader; returns the bundle dir. */
export function umociUnpack(layoutDir: string, tag: string): { rootfs: string; config: any } {
  const bundle = path.join(tmpDir('drydock-bundle-'), 'b');
  run('umoci', ['unpack', '--image', `${layoutDir}:${tag}`, bundle]);
  return { rootfs: path.join(bundle, 'rootfs'), config: JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) };
}
