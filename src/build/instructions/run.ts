// RUN: the command runs in the stage's root through the chosen isolation; the snapshotter turns
// what it changed into exactly one layer. Mounts (secret, cache, bind, tmpfs) are bound for the
// step only and never reach the layer, the log or the history.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { parseMountSpec } from '../../dockerfile/mount';
import type { MountSpec, RunInstruction } from '../../dockerfile/types';
import { UserError, log, redact, registerSecret } from '../../log';
import type { BindMount, RunSpec } from '../isolation';
import type { StageBuilder } from '../stage';
import { resolveUser } from '../users';
import { shellOf } from './metadata';
import { DEFAULT_PATH } from '../base-image';
import { digestEntries } from '../cache/entries-digest';
import type { SourceFilter } from '../copy-sources';
import { hostPathInRoot } from '../../fs/in-root';
import { entriesFromDir, walkDirSync } from '../../fs/walk';

/** Where `--from` of a bind mount and the context come from (shared with COPY). */
export interface RunRoots {
  contextDir: string;
  /** what .dockerignore leaves out of the context (relative posix paths) */
  contextFilter?: SourceFilter;
  fromRoot(name: string, where: string): Promise<{ root: string; label: string }>;
}

/** A mount flag as the step sees it: variables in it expanded. */
function mountSpecOf(stage: StageBuilder, m: RunInstruction['mounts'][number], where: string): MountSpec {
  try {
    return m.raw.includes('$') ? parseMountSpec(m.raw, (w) => stage.expand(w)) : m.spec;
  } catch (e) {
    throw new UserError(`${where}: invalid --mount=${m.raw}: ${(e as Error).message}`);
  }
}

/**
 * Where a bind mount's source is on the host: links on the way resolve inside the context or
 * stage, never out onto the host. `within`: its path inside that root; `ignored`: the context's
 * .dockerignore when the source is in the context and it leaves anything out.
 */
async function bindSource(spec: MountSpec, roots: RunRoots, where: string): Promise<{ source: string; within: string; label: string; ignored?: SourceFilter }> {
  const from = spec.from ? await roots.fromRoot(spec.from, where) : { root: roots.contextDir, label: 'the build context' };
  const source = hostPathInRoot(from.root, path.posix.normalize('/' + (spec.source ?? '/')).slice(1));
  const within = path.relative(from.root, source).split(path.sep).join('/');
  const ignored = spec.from || roots.contextFilter?.excludesNothing ? undefined : roots.contextFilter;
  return { source, within, label: from.label, ignored };
}

/**
 * For the layer cache: a digest of what the RUN's bind mounts show the step (each target with
 * the content of its source, as COPY's key sees its sources: paths, modes, owners, file contents,
 * not times), so such a RUN can be cached. The context counts without what .dockerignore leaves
 * out (as a context sent to BuildKit would be). Undefined when the RUN has no bind mount, or
 * when a source is missing (the step then fails with its own error).
 */
export async function bindMountsDigest(stage: StageBuilder, instr: RunInstruction, roots: RunRoots): Promise<string | undefined> {
  const where = stage.where(instr);
  const parts: string[] = [];
  for (const m of instr.mounts) {
    const spec = mountSpecOf(stage, m, where);
    if (spec.type !== 'bind' || !spec.target) continue;
    const { source, within, ignored } = await bindSource(spec, roots, where);
    if (!fs.existsSync(source)) return undefined;
    const prefix = within === '' ? '' : `${within}/`;
    const entries = await entriesFromDir(source, 'mnt', {
      filter: ignored ? (r, isDir) => (ignored.excluded(prefix + r, isDir) ? 'exclude' : 'include') : undefined,
    });
    parts.push(`${spec.target}\0${spec.from ?? ''}\0${within}\0${spec.readonly}\0${await digestEntries(entries)}`);
  }
  if (parts.length === 0) return undefined;
  return crypto.createHash('sha256').update(parts.join('\n')).digest('hex');
}

/** The argv of a RUN: exec form as is; shell form through SHELL, heredoc bodies handed to the shell. */
export function runArgv(stage: StageBuilder, instr: RunInstruction): { argv: string[]; script?: { name: string; content: string } } {
  if (instr.command.form === 'exec') return { argv: instr.command.args };
  const shell = shellOf(stage);
  const text = instr.command.text.trim();
  if (instr.heredocs.length === 1 && /^<<-?\s*["']?[A-Za-z0-9_.-]+["']?$/.test(text)) {
    // the shell expands the body at run time (BuildKit leaves RUN heredocs to the shell)
    const body = instr.heredocs[0].content;
    // a script with its own interpreter runs as a file; otherwise the body is the shell's script
    if (body.startsWith('#!')) return { argv: [], script: { name: instr.heredocs[0].name, content: body } };
    return { argv: [...shell, body] };
  }
  if (instr.heredocs.length === 0) return { argv: [...shell, instr.command.text] };
  // `cat <<EOF > f` and friends: the shell itself reads the heredocs that follow the command
  const full = [instr.command.text, ...instr.heredocs.map((h) => `${h.content}${h.content.endsWith('\n') || h.content === '' ? '' : '\n'}${h.name}`)].join('\n');
  return { argv: [...shell, full] };
}

/** The step's environment: the image's ENV, then ARGs in scope that ENV does not set (Docker). */
export function runEnv(stage: StageBuilder, home: string): string[] {
  const env = [...(stage.image.config.config?.Env ?? [])];
  const names = new Set(env.map((e) => e.split('=', 1)[0]));
  for (const [k, v] of stage.args.entries()) if (!names.has(k)) { env.push(`${k}=${v}`); names.add(k); }
  if (!names.has('PATH')) env.push(`PATH=${DEFAULT_PATH}`);
  if (!names.has('HOME')) env.push(`HOME=${home}`);
  return env;
}

interface PreparedMounts { binds: BindMount[]; tmpfs: string[]; agentSockets: NonNullable<RunSpec['agentSockets']>; env: string[]; cleanup: () => Promise<void> }

async function prepareMounts(stage: StageBuilder, instr: RunInstruction, roots: RunRoots, where: string): Promise<PreparedMounts> {
  const binds: BindMount[] = [];
  const tmpfs: string[] = [];
  const agentSockets: PreparedMounts['agentSockets'] = [];
  const env: string[] = [];
  const temps: string[] = [];
  const secretsDir = path.join(stage.env.workDir, 'secrets');
  for (const m of instr.mounts) {
    const spec = mountSpecOf(stage, m, where);
    switch (spec.type) {
      case 'secret': {
        const id = spec.id ?? (spec.target ? path.posix.basename(spec.target) : undefined);
        if (!id) throw new UserError(`${where}: --mount=type=secret needs id= or target=`);
        const def = stage.env.opts.secrets.find((s) => s.id === id);
        let value: Buffer | undefined;
        if (def?.src) {
          try { value = fs.readFileSync(def.src); } catch { throw new UserError(`${where}: secret "${id}": cannot read ${def.src}`); }
        } else if (def?.env !== undefined && process.env[def.env] !== undefined) value = Buffer.from(process.env[def.env] as string);
        if (!value) {
          if (spec.required) throw new UserError(`${where}: secret "${id}" is required but was not given (use --secret id=${id},src=FILE or env=VAR)`);
          log.warn(`${where}: secret "${id}" was not given; the step runs without it`);
          continue;
        }
        registerSecret(value.toString());
        if (spec.env) env.push(`${spec.env}=${value.toString()}`);
        if (spec.env && !spec.target) break;
        fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
        const file = path.join(secretsDir, crypto.randomBytes(8).toString('hex'));
        fs.writeFileSync(file, value, { mode: spec.mode ?? 0o400 });
        fs.chownSync(file, spec.uid ?? 0, spec.gid ?? 0);
        temps.push(file);
        binds.push({ source: file, target: spec.target ?? `/run/secrets/${id}`, readonly: true });
        break;
      }
      case 'cache': {
        if (!spec.target) throw new UserError(`${where}: --mount=type=cache needs target=`);
        const id = spec.id ?? spec.target;
        const dir = path.join(stage.env.opts.cacheDir, 'run-mounts', crypto.createHash('sha256').update(id).digest('hex').slice(0, 32));
        if (!fs.existsSync(dir)) {
          fs.mkdirSync(dir, { recursive: true, mode: spec.mode ?? 0o755 });
          fs.chownSync(dir, spec.uid ?? 0, spec.gid ?? 0);
        }
        binds.push({ source: dir, target: spec.target, readonly: spec.readonly, owned: spec.readonly ? undefined : 'keep' });
        break;
      }
      case 'bind': {
        if (!spec.target) throw new UserError(`${where}: --mount=type=bind needs target=`);
        const found = await bindSource(spec, roots, where);
        let source = found.source;
        if (!fs.existsSync(source)) throw new UserError(`${where}: --mount=type=bind: source "${spec.source ?? '/'}" not found in ${found.label}`);
        if (found.ignored) {
          const view = contextView(source, found.within, found.ignored, stage.env.workDir);
          if (view === null) throw new UserError(`${where}: --mount=type=bind: source "${spec.source ?? '/'}" not found in the build context (.dockerignore leaves it out)`);
          if (view !== undefined) {
            temps.push(view);
            source = view;
          }
        }
        if (!spec.readonly) {
          // writes to a rw bind are discarded (BuildKit): give the step a copy, never the original
          const copy = path.join(stage.env.workDir, `bind-${crypto.randomBytes(6).toString('hex')}`);
          await fs.promises.cp(source, copy, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
          temps.push(copy);
          source = copy;
        }
        binds.push({ source, target: spec.target, readonly: spec.readonly, owned: spec.readonly ? undefined : 'discard' });
        break;
      }
      case 'tmpfs':
        if (!spec.target) throw new UserError(`${where}: --mount=type=tmpfs needs target=`);
        tmpfs.push(spec.target);
        break;
      case 'ssh': {
        // BuildKit's rules: id "default", target /run/buildkit/ssh_agent.N, socket mode 0600 for
        // root; the first one is SSH_AUTH_SOCK. The agent stays on the host: the step only talks to it.
        const id = spec.id ?? 'default';
        const agent = stage.env.opts.ssh.find((s) => s.id === id);
        if (!agent) {
          if (spec.required) throw new UserError(`${where}: --mount=type=ssh${id === 'default' ? '' : `,id=${id}`} is required but no agent was given (use --ssh ${id}[=SOCKET])`);
          log.warn(`${where}: no SSH agent "${id}" was given (--ssh ${id}[=SOCKET]); the step runs without it`);
          break;
        }
        if (!fs.statSync(agent.socket, { throwIfNoEntry: false })?.isSocket()) throw new UserError(`--ssh ${id}=${agent.socket}: not a socket: give an SSH agent's socket (key files are not read: load them with ssh-add)`);
        const target = spec.target ?? `/run/buildkit/ssh_agent.${agentSockets.length}`;
        if (agentSockets.length === 0) env.push(`SSH_AUTH_SOCK=${target}`);
        agentSockets.push({ target, upstream: agent.socket, mode: spec.mode ?? 0o600, uid: spec.uid ?? 0, gid: spec.gid ?? 0 });
        break;
      }
    }
  }
  return {
    binds, tmpfs, agentSockets, env,
    cleanup: async () => {
      for (const t of temps) await fs.promises.rm(t, { recursive: true, force: true });
    },
  };
}

/**
 * The context as BuildKit would have it: what .dockerignore leaves out of `source` (a file or
 * directory at `within` in the context) is not shown to the step, as the cache key does not see
 * it. Undefined when nothing is left out (the source is bound as it is); null when all of it is;
 * else a directory in `workDir` with the rest (hard links where the filesystem allows).
 */
function contextView(source: string, within: string, filter: SourceFilter, workDir: string): string | null | undefined {
  const st = fs.lstatSync(source);
  const selfExcluded = within !== '' && filter.excluded(within, st.isDirectory());
  if (!st.isDirectory()) return selfExcluded ? null : undefined;
  const prefix = within === '' ? '' : `${within}/`;
  let leftOut = selfExcluded;
  const kept = walkDirSync(source, {
    filter: (r, isDir) => {
      if (!filter.excluded(prefix + r, isDir)) return 'include';
      leftOut = true;
      return 'exclude';
    },
  });
  if (!leftOut) return undefined;
  if (selfExcluded && kept.length === 0) return null;
  const view = path.join(workDir, `context-view-${crypto.randomBytes(6).toString('hex')}`);
  fs.mkdirSync(view);
  fs.chmodSync(view, st.mode & 0o7777);
  for (const e of kept) {
    const to = path.join(view, e.relPath);
    // a kept entry below a left-out directory still needs its parents
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (e.stats.isDirectory()) {
      fs.mkdirSync(to, { recursive: true });
      fs.chmodSync(to, e.stats.mode & 0o7777);
    } else if (e.stats.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(e.absPath), to);
    } else if (e.stats.isFile()) {
      try {
        fs.linkSync(e.absPath, to);
      } catch {
        fs.copyFileSync(e.absPath, to);
      }
    }
  }
  return view;
}

/** Step output goes to our stdout with registered secrets masked. */
function redacting(out: NodeJS.WritableStream): Transform {
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      cb(null, redact(chunk.toString('utf8')));
    },
  });
  t.pipe(out, { end: false });
  return t;
}

export async function runInstruction(stage: StageBuilder, instr: RunInstruction, roots: RunRoots): Promise<void> {
  const where = stage.where(instr);
  if (instr.security === 'insecure' && !stage.env.opts.allow.includes('security.insecure')) {
    throw new UserError(`${where}: RUN --security=insecure keeps every capability of the executor for the step: allow it with --allow security.insecure (as BuildKit's entitlement)`);
  }
  const { snap, perStep } = await stage.snapshotter();
  const isolation = await stage.env.isolation();
  const root = await stage.rootfs();
  // no USER: uid 0, which needs no /etc/passwd (a FROM scratch image may have none), as runc does
  const userSpec = stage.image.config.config?.User || '0';
  const user = resolveUser(root, userSpec, where);
  const { argv: baseArgv, script } = runArgv(stage, instr);
  const mounts = await prepareMounts(stage, instr, roots, where);
  let argv = baseArgv;
  if (script) {
    // the script file is bound in for the step only, so it never lands in the layer
    const file = path.join(stage.env.workDir, `heredoc-${crypto.randomBytes(6).toString('hex')}`);
    fs.writeFileSync(file, script.content, { mode: 0o755 });
    const target = `/dev/.drydock-${path.basename(file)}`;
    mounts.binds.push({ source: file, target, readonly: true });
    argv = [target];
    const prev = mounts.cleanup;
    mounts.cleanup = async () => { await prev(); fs.rmSync(file, { force: true }); };
  }
  if (perStep) await snap.begin();
  const stdout = redacting(process.stdout);
  const stderr = redacting(process.stderr);
  let result;
  try {
    result = await isolation.run({
      rootfs: perStep ? snap.runRoot() : root,
      argv,
      env: [...runEnv(stage, user.home), ...mounts.env],
      uid: user.uid,
      gid: user.gid,
      groups: user.groups,
      workdir: stage.image.config.config?.WorkingDir || '/',
      network: instr.network ?? 'default',
      binds: mounts.binds,
      tmpfs: mounts.tmpfs,
      agentSockets: mounts.agentSockets,
      scratch: stage.env.workDir,
      stdout,
      stderr,
      security: instr.security ?? 'sandbox',
    });
  } finally {
    await mounts.cleanup();
    stdout.end();
    stderr.end();
  }
  if (result.exitCode !== 0) {
    if (perStep) await snap.finish().catch(() => undefined); // leave the snapshotter consistent; the build fails anyway
    const shown = instr.command.form === 'exec' ? JSON.stringify(instr.command.args) : instr.command.text;
    const note = isolation.stepLimits ? ` (note: ${isolation.stepLimits})` : '';
    throw new UserError(`${where}: RUN ${shown.length > 120 ? shown.slice(0, 117) + '...' : shown} failed: exit code ${result.exitCode}${result.signal ? ` (${result.signal})` : ''}${note}`);
  }
  if (!perStep) {
    await stage.addLayer([], instr, true); // recorded; the stage's single snapshot holds the change
    return;
  }
  const t0 = Date.now();
  const entries = await snap.finish();
  log.debug(`${where}: snapshot (${snap.name}) found ${entries.length} changed paths in ${Date.now() - t0} ms`);
  await stage.addLayer(entries, instr, true);
}
