// COPY and ADD: resolve sources (context, another stage, an image, a URL, a heredoc), plan the
// layer entries with ownership and mode, and add exactly those entries as one layer.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkoutGit, parseGitSource, type GitSource } from '../../context/git-source';
import { httpGet } from '../../context/http-get';
import type { AddInstruction, CopyInstruction, Heredoc } from '../../dockerfile/types';
import { compressionOfHead, decompressIfNeeded, extractLayer } from '../../fs/extract';
import { isTarHeader } from '../../fs/tar-reader';
import { applyMode, parseModeChange, type ModeChange } from '../../fs/mode-change';
import type { LayerEntry } from '../../fs/types';
import { entriesFromDir } from '../../fs/walk';
import { readXattrs } from '../../fs/xattrs';
import { UserError, log, redact } from '../../log';
import { cleanSourcePath, planCopy, type SourceFilter } from '../copy-sources';
import { excludeMatcher, type IgnoreMatcher } from '../../context/dockerignore';
import { hostPathInRoot } from '../../fs/in-root';
import { hostProgram } from '../isolation/host-tools';
import type { StageBuilder } from '../stage';
import { needsNameLookup, resolveChown } from '../users';
import { missingDirs } from './metadata';

/** Where COPY --from and the context come from; provided by the build (stages, images, context). */
export interface SourceRoots {
  contextDir: string;
  contextFilter: SourceFilter;
  /**
   * The root directory of `--from=NAME` (a stage name or index, or an image reference);
   * `xattrFree` when it is known that no file there has extended attributes we keep.
   */
  fromRoot(name: string, where: string): Promise<{ root: string; label: string; xattrFree?: boolean }>;
}

function parseChmod(v: string, where: string): ModeChange {
  const change = parseModeChange(v);
  if (!change) throw new UserError(`${where}: invalid --chmod=${v}, expected an octal mode such as 0755 or a symbolic one as chmod takes it, such as u+x,go-w`);
  return change;
}

interface Common {
  stage: StageBuilder;
  instr: CopyInstruction | AddInstruction;
  roots: SourceRoots;
}

async function ownership(c: Common): Promise<{ uid: number; gid: number; explicit: boolean }> {
  const spec = c.instr.flags.chown ? c.stage.expand(c.instr.flags.chown) : '';
  if (!spec) return { uid: 0, gid: 0, explicit: false };
  const root = needsNameLookup(spec) ? await c.stage.rootfs() : null;
  return { ...resolveChown(root, spec, c.stage.where(c.instr)), explicit: true };
}

/** Where COPY/ADD write: the destination under WORKDIR, its symlinks followed inside the image. */
async function destination(c: Common): Promise<{ dest: string; destIsDir: boolean }> {
  const raw = c.stage.expand(c.instr.dest);
  if (!raw) throw new UserError(`${c.stage.where(c.instr)}: empty destination`);
  const destIsDir = raw.endsWith('/') || raw === '.' || raw.endsWith('/.');
  const dest = await c.stage.followLinks(c.stage.resolvePath(raw).replace(/(.)\/+$/, '$1'));
  return { dest, destIsDir };
}

function heredocEntries(c: Common, docs: Heredoc[], dest: string, destIsDir: boolean, uid: number, gid: number, chmod: ModeChange | undefined, mtime: Date): LayerEntry[] {
  return docs.map((h) => {
    const content = h.expand ? c.stage.expandHeredoc(h.content) : h.content;
    const target = destIsDir || docs.length > 1 ? path.posix.join(dest, h.name) : dest;
    return { path: target.slice(1), type: 'file', content: Buffer.from(content), mode: applyMode(chmod, 0o644, false), uid, gid, mtime };
  });
}

/** Directory entries for the destination's ancestors that the stage does not have yet. */
async function parentEntries(c: Common, entries: LayerEntry[], uid: number, gid: number, mtime: Date): Promise<LayerEntry[]> {
  const have = new Set(entries.map((e) => e.path));
  const parents = new Set<string>();
  for (const e of entries) {
    let d = path.posix.dirname(e.path);
    while (d !== '.' && d !== '' && !parents.has(d)) {
      parents.add(d);
      d = path.posix.dirname(d);
    }
  }
  const out: LayerEntry[] = [];
  const sorted = [...parents].sort((a, b) => a.length - b.length);
  const missing = new Set<string>();
  for (const d of sorted) {
    if (have.has(d)) continue;
    const parentMissing = missing.has(path.posix.dirname(d));
    if (parentMissing || (await missingDirs(c.stage, '/' + d)).length > 0) {
      missing.add(d);
      out.push({ path: d, type: 'dir', mode: 0o755, uid, gid, mtime });
    }
  }
  return out;
}

/** What COPY and ADD read alike from their flags and destination. */
async function targetOf(c: Common) {
  const where = c.stage.where(c.instr);
  const { uid, gid, explicit } = await ownership(c);
  const chmod = c.instr.flags.chmod ? parseChmod(c.stage.expand(c.instr.flags.chmod), where) : undefined;
  return { where, uid, gid, explicit, chmod, ...(await destination(c)), mtime: new Date(c.stage.env.created) };
}

export async function copy(stage: StageBuilder, instr: CopyInstruction, roots: SourceRoots): Promise<void> {
  const c: Common = { stage, instr, roots };
  const { where, uid, gid, explicit, chmod, dest, destIsDir, mtime } = await targetOf(c);
  let src: { root: string; label: string; filter?: SourceFilter; xattrFree?: boolean };
  if (instr.flags.from) {
    src = await roots.fromRoot(stage.expand(instr.flags.from), where);
  } else {
    src = { root: roots.contextDir, label: 'the build context', filter: roots.contextFilter };
  }
  const sources = instr.sources.map((s) => stage.expand(s));
  const destExistsAsDir = sources.length > 0 ? await stage.isDir(dest) : false;
  let entries: LayerEntry[] = [];
  if (sources.length) {
    entries = await planCopy({
      root: src.root, rootName: src.label, sources, dest, destIsDir, destExistsAsDir,
      // COPY --from keeps the owner of the files unless --chown says otherwise; context files are root's
      ...(instr.flags.from && !explicit ? {} : { uid, gid }),
      chmod, filter: src.filter, where,
      mtime: stage.env.opts.reproducible ? mtime : undefined,
      onManyEntries: stage.manyEntriesHint(),
      parents: instr.flags.parents,
      exclude: excludesOf(c),
    });
  }
  if (instr.flags.from && src.xattrFree) log.debug(`${where}: ${src.label} has no extended attributes (its layers carry none): not read`);
  else if (instr.flags.from) keepSourceXattrs(entries, where);
  entries.push(...heredocEntries(c, instr.heredocs, dest, destIsDir || sources.length + instr.heredocs.length > 1, uid, gid, chmod, mtime));
  entries.push(...(await parentEntries(c, entries, uid, gid, mtime)));
  await stage.addLayer(entries, instr);
  log.debug(`${where}: COPY wrote ${entries.length} entries`);
}

/**
 * COPY --from carries the extended attributes of the files it copies (a capability set with
 * `setcap` in a builder stage is the usual case), as BuildKit and buildah do; read with one
 * getfattr when the host has it. Files from the context come without them, as in BuildKit.
 */
function keepSourceXattrs(entries: LayerEntry[], where: string): void {
  const getfattr = hostProgram('getfattr');
  const files = entries.filter((e) => e.type === 'file' && e.source !== undefined);
  if (!getfattr || files.length === 0) return;
  let found: Map<string, Record<string, Buffer>>;
  try {
    found = readXattrs(getfattr, files.map((e) => e.source!));
  } catch (err) {
    log.warn(`${where}: extended attributes of the copied files are left out: ${(err as Error).message}`);
    return;
  }
  if (found.size === 0) return;
  for (const e of files) {
    const x = found.get(e.source!);
    if (x) e.xattrs = x;
  }
}

/** COPY/ADD --exclude, expanded; undefined without any. */
function excludesOf(c: Common): IgnoreMatcher | undefined {
  const patterns = c.instr.flags.exclude.map((e) => c.stage.expand(e));
  return patterns.length ? excludeMatcher(patterns, c.stage.where(c.instr)) : undefined;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/**
 * ADD of a git repository: the commit's tree (without .git unless --keep-git-dir) into the
 * destination directory, owned by root (or --chown), files 0644 or 0755 by their executable bit
 * (as git records them, whatever the umask), dated with the commit's time.
 */
async function gitEntries(src: GitSource, checksum: string | undefined, dir: string, c: Common,
  o: { uid: number; gid: number; chmod: ModeChange | undefined; dest: string; mtime: Date }): Promise<LayerEntry[]> {
  const where = c.stage.where(c.instr);
  const git = hostProgram('git');
  if (!git) throw new UserError(`${where}: ADD of the git repository ${redact(src.remote)} needs git on this host, and there is none on PATH`);
  if (checksum !== undefined && src.checksum !== undefined && checksum !== src.checksum) {
    throw new UserError(`${where}: --checksum=${checksum} and the source's checksum=${src.checksum} differ`);
  }
  log.info(`${where}: fetching ${redact(src.remote)}${src.ref ? ` at ${src.ref}` : ''}`);
  const keep = c.instr.kind === 'add' && c.instr.flags.keepGitDir;
  const co = await checkoutGit(git, { ...src, checksum: checksum ?? src.checksum }, dir, where, keep);
  log.debug(`${where}: ${redact(src.remote)} is at commit ${co.commit}`);
  const destRel = o.dest.slice(1);
  const entries = await entriesFromDir(co.dir, destRel, {
    uid: o.uid, gid: o.gid, includeRoot: false,
    mtime: c.stage.env.opts.reproducible ? o.mtime : co.time,
  });
  for (const e of entries) {
    if (e.type === 'file' && !(keep && `/${e.path}`.includes('/.git/'))) e.mode = e.mode & 0o100 ? 0o755 : 0o644;
    else if (e.type === 'dir') e.mode = 0o755;
    if (e.type === 'file' || e.type === 'dir') e.mode = applyMode(o.chmod, e.mode, e.type === 'dir');
  }
  if (destRel !== '' && !(await c.stage.isDir(o.dest))) entries.unshift({ path: destRel, type: 'dir', mode: 0o755, uid: o.uid, gid: o.gid, mtime: o.mtime });
  return entries;
}

export async function add(stage: StageBuilder, instr: AddInstruction, roots: SourceRoots): Promise<void> {
  const c: Common = { stage, instr, roots };
  const { where, uid, gid, explicit, chmod, dest, destIsDir, mtime } = await targetOf(c);
  const sources = instr.sources.map((s) => stage.expand(s));
  const checksum = instr.flags.checksum ? stage.expand(instr.flags.checksum) : undefined;
  const gitSources = sources.map((src) => parseGitSource(src));
  if (checksum && !sources.every((src, i) => isUrl(src) || gitSources[i])) throw new UserError(`${where}: ADD --checksum works only with http(s) and git sources`);
  if (checksum && sources.length > 1) throw new UserError(`${where}: ADD --checksum works with one source only`);
  const multi = sources.length + instr.heredocs.length > 1;
  const entries: LayerEntry[] = [];
  const scratch = path.join(stage.env.workDir, `add-${instr.line}-${Date.now()}`);
  const local: string[] = [];
  for (const [i, s] of sources.entries()) {
    const git = gitSources[i];
    if (git) {
      entries.push(...(await gitEntries(git, checksum, path.join(scratch, `git-${i}`), c, { uid, gid, chmod, dest, mtime })));
      continue;
    }
    if (isUrl(s)) {
      const file = await download(s, scratch, checksum, where);
      const name = path.posix.basename(new URL(s).pathname) || 'download';
      const target = destIsDir || multi ? path.posix.join(dest, name) : dest;
      const st = fs.statSync(file.path);
      entries.push({ path: target.slice(1), type: 'file', source: file.path, size: st.size, mode: applyMode(chmod, 0o600, false), uid, gid, mtime: stage.env.opts.reproducible ? mtime : file.mtime ?? mtime });
    } else local.push(s);
  }
  // local archives are unpacked into the destination; everything else is copied like COPY
  const plain: string[] = [];
  for (const s of local) {
    // the context's symlinks followed inside the context, never out onto the host
    const abs = hostPathInRoot(roots.contextDir, cleanSourcePath(s));
    const kind = fs.existsSync(abs) && fs.statSync(abs).isFile() && instr.flags.unpack !== false ? await archiveKind(abs, where) : null;
    if (kind) {
      const out = path.join(scratch, `unpack-${entries.length}-${plain.length}`);
      await fs.promises.mkdir(out, { recursive: true });
      await unpackArchive(abs, kind, out, where);
      // an explicit --chown overrides the archive's owners (moby's archive package, BuildKit);
      // --chmod does not reach what an archive holds: its entries keep their own modes (BuildKit)
      entries.push(...(await entriesFromDir(out, dest.slice(1), explicit ? { uid, gid } : {})));
      if (!entries.some((e) => e.path === dest.slice(1)) && dest !== '/') {
        entries.push({ path: dest.slice(1), type: 'dir', mode: 0o755, uid, gid, mtime });
      }
    } else plain.push(s);
  }
  if (plain.length) {
    const destExistsAsDir = await stage.isDir(dest);
    entries.push(...(await planCopy({
      root: roots.contextDir, rootName: 'the build context', sources: plain, dest, destIsDir: destIsDir || multi, destExistsAsDir,
      uid, gid, chmod, filter: roots.contextFilter, where, mtime: stage.env.opts.reproducible ? mtime : undefined,
      onManyEntries: stage.manyEntriesHint(), exclude: excludesOf(c),
    })));
  }
  entries.push(...heredocEntries(c, instr.heredocs, dest, destIsDir || multi, uid, gid, chmod, mtime));
  entries.push(...(await parentEntries(c, entries, uid, gid, mtime)));
  await stage.addLayer(entries, instr);
}

async function download(url: string, dir: string, checksum: string | undefined, where: string): Promise<{ path: string; mtime?: Date }> {
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, `download-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`);
  log.info(`${where}: downloading ${url}`);
  const res = await httpGet(url, where);
  const hash = createHash('sha256');
  await pipeline(res.body, async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      hash.update(chunk);
      yield chunk;
    }
  }, fs.createWriteStream(file));
  const got = `sha256:${hash.digest('hex')}`;
  if (checksum) {
    if (!/^sha256:[0-9a-f]{64}$/.test(checksum)) throw new UserError(`${where}: invalid --checksum=${checksum}, expected sha256:<64 hex digits>`);
    if (checksum !== got) throw new UserError(`${where}: checksum mismatch for ${url}: expected ${checksum}, got ${got}`);
  }
  const lm = res.headers['last-modified'];
  const mtime = typeof lm === 'string' && !Number.isNaN(Date.parse(lm)) ? new Date(lm) : undefined;
  return { path: file, mtime };
}

type ArchiveKind = 'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/**
 * Docker detects archives by content, not name, as moby's archive.IsArchivePath does: a file is
 * unpacked when it is a tar, or a gzip, bzip2, xz or zstd stream whose content starts with a tar
 * header; anything else (a gzipped JSON file, say) is copied as it is.
 */
async function archiveKind(file: string, where: string): Promise<ArchiveKind | null> {
  const fd = await fs.promises.open(file, 'r');
  let b: Buffer;
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fd.read(buf, 0, 512, 0);
    b = buf.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
  const layerCompression = compressionOfHead(b); // the two a layer may have
  const kind: ArchiveKind | null = layerCompression !== 'none' ? layerCompression
    : b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh' ? 'bzip2'
    : b.length >= 6 && b[0] === 0xfd && b.toString('latin1', 1, 6) === '7zXZ\0' ? 'xz'
    : null;
  if (!kind) return isTarHeader(b) ? 'tar' : null;
  return isTarHeader(await decompressedHead(file, kind, where)) ? kind : null;
}

/** The first 512 bytes of what a compressed file holds (fewer when it holds less, or is not what it claims). */
async function decompressedHead(file: string, kind: Exclude<ArchiveKind, 'tar'>, where: string): Promise<Buffer> {
  const { stream, stop } = await decompressed(file, kind, where);
  const chunks: Buffer[] = [];
  let got = 0;
  try {
    for await (const c of stream) {
      chunks.push(c as Buffer);
      got += (c as Buffer).length;
      if (got >= 512) break;
    }
  } catch {
    // corrupt: not an archive, as for moby (its tar reader fails on it)
  } finally {
    stop();
  }
  return Buffer.concat(chunks).subarray(0, 512);
}

/** A file's decompressed content: gzip and zstd as layers are (decompressIfNeeded), bzip2 and xz by their programs. */
async function decompressed(file: string, kind: Exclude<ArchiveKind, 'tar'>, where: string): Promise<{ stream: NodeJS.ReadableStream; stop: () => void; exited?: Promise<number | null> }> {
  if (kind === 'gzip' || kind === 'zstd') {
    const raw = fs.createReadStream(file);
    const stream = await decompressIfNeeded(raw, hostProgram('zstd')).catch((e: unknown) => {
      raw.destroy();
      throw e instanceof UserError ? new UserError(`${where}: ADD of ${path.basename(file)}: ${e.message}`) : e;
    });
    return { stream, stop: () => { raw.destroy(); stream.destroy(); } };
  }
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const tool = { bzip2: 'bzip2', xz: 'xz' }[kind];
  const child = spawn(tool, ['-dc', file], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', () => reject(new UserError(`${where}: ADD of a ${kind} archive needs the "${tool}" program, which is not installed`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  // taken at once: Node drops what a child wrote to a pipe nobody reads yet when the child ends
  // (a fast xz ended before extraction came to read it, and the build stopped there)
  const out = child.stdout!.pipe(new PassThrough({ highWaterMark: 1 << 20 }));
  return { stream: out, stop: () => { child.stdout!.destroy(); out.destroy(); child.kill(); }, exited };
}

async function unpackArchive(file: string, kind: ArchiveKind, out: string, where: string): Promise<void> {
  // extractLayer undoes gzip and zstd itself (zstd by Node or the program, whose exit it checks)
  const own = kind === 'tar' || kind === 'gzip' || kind === 'zstd';
  const program = own ? undefined : await decompressed(file, kind, where);
  const input = program ? program.stream : fs.createReadStream(file);
  try {
    await extractLayer(input as never, out, { zstd: kind === 'zstd' ? hostProgram('zstd') : undefined });
    // a stream cut short can end at an entry's end and pass for a whole tar: the program knows
    const code = await program?.exited;
    if (code !== undefined && code !== 0) throw new Error(`${kind} -d exited with code ${code}: the archive is corrupt or cut short`);
  } catch (e) {
    program?.stop();
    throw new UserError(`${where}: cannot unpack ${path.basename(file)} (${kind}): ${(e as Error).message}`);
  }
}
