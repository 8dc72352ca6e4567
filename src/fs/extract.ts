// Applies one layer tarball onto a root directory in a single streaming pass, with OCI layer
// semantics (whiteouts, opaque directories, hardlinks, type replacement) and path safety:
//
// - Entry names are taken relative to root: a leading '/' is dropped (as Docker does) and '..'
//   components are resolved lexically; a name whose '..' would climb above root is rejected.
// - Parent directories are resolved component by component inside root with chroot semantics
//   (like containerd's fs.RootPath): a symlink met on the way is followed as if root were '/',
//   so layer 1's `evil -> /etc` plus layer 2's `evil/passwd` writes root/etc/passwd, never the
//   host's /etc. The final component is never followed: files are created with O_EXCL|O_NOFOLLOW
//   after whatever was there is removed, symlinks and hardlinks are created, not written through.
// - Hardlink targets are resolved the same way, so they are always inside root.
// Nothing else modifies root while a layer is applied (the executor extracts one layer at a time).
//
// Per-entry filesystem calls are synchronous on purpose: a layer is mostly small files, each
// needing ~6 syscalls, and a thread-pool round trip per call made extraction latency-bound at
// several times tar's wall time. Decompression still runs on the thread pool, overlapping them.
// Where cores are spare, writer threads create small new files (file-writers.ts says when the
// applier waits for them, so that the rules above hold as if it had created them itself).
import { execFile, spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { PassThrough, Readable, type Transform } from 'node:stream';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { log, UserError } from '../log';
import { fileTime } from './fd';
import { FILE_WRITER_MAX_FILE, FileWriters } from './file-writers';
import { type IgnoreList } from './ignore';
import { xattrsOfPax } from './tar-pax';
import { readTar, type TarEntry } from './tar-reader';
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type LayerEntryType } from './types';
import { writeXattrs } from './xattrs';

const execFileP = promisify(execFile);

export interface ExtractOptions {
  /** chown entries to their uid/gid. Default: only when running as root. */
  preserveOwnership?: boolean;
  /** Called once per applied entry with its in-root path, kind and (symlinks) target. */
  onEntry?: (path: string, type: LayerEntryType, linkname?: string) => void;
  /** Host paths never created, replaced or removed (kaniko-style extraction over '/'). */
  ignore?: IgnoreList;
  /** Named in error messages, e.g. the layer digest. */
  layerName?: string;
  /**
   * setfattr (package attr) to set the extended attributes entries carry (file capabilities,
   * user.*, ACLs); without it they are not applied, with a debug line.
   */
  setfattr?: string;
  /** the zstd program, for zstd layers where Node has no zstd of its own (before 22.15) */
  zstd?: string;
  /**
   * Threads that create the layer's small files (file-writers.ts); 0: this thread creates every
   * file. Default: fileWritersBeside(0).
   */
  fileWriters?: number;
  /** Start them once the layer has shown this many regular files (default 1,000); 0: before the first entry. */
  fileWritersAfter?: number;
  /**
   * The layer's diffID as its image's config gives it (rootfs.diff_ids): the uncompressed stream
   * is hashed as it is read and a layer that hashes otherwise fails (`layerName` should say which
   * image and layer). Unset: not hashed (layers we wrote ourselves, a build context, ADD).
   */
  diffId?: string;
}

/**
 * How many file writer threads to use while `busy` other threads of ours work too: one per core
 * beyond the extracting thread, gunzip (on the thread pool) and `busy`, up to 3; so none on 2
 * cores. Measured on 2 cores: a base layer of 20,000 small files (gzip) alone unpacked 1.07-1.22
 * s -> 0.73-0.76 s with one writer, but Debian's base layer (3,000 files, most bytes in a few, its
 * gunzip busy) went 1.12 -> 1.19 s (six alternating builds) and peaked 13 MB higher, and a COPY of
 * 20,000 files, whose layer writer keeps the main thread busy beside the extraction worker,
 * gained nothing (both cores were full). DRYDOCK_FILE_WRITERS=N says otherwise (0: none).
 */
export function fileWritersBeside(busy: number, env: NodeJS.ProcessEnv = process.env): number {
  const asked = env.DRYDOCK_FILE_WRITERS ? Number(env.DRYDOCK_FILE_WRITERS) : NaN;
  if (Number.isInteger(asked) && asked >= 0) return Math.min(asked, 8);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(0, Math.min(3, cores - 2 - busy));
}
// A writer's start costs ~20-30 ms of another core, and a layer mostly of big files (Debian's
// base: 3,000 files, most bytes in a few) gains nothing measurable: only layers with many files pay.
const FILE_WRITERS_AFTER = 1000;

export interface ExtractResult {
  /** Entries applied (files, directories, links, nodes, whiteouts). */
  files: number;
  /** Paths the layer gave extended attributes we keep (0: the layer carries none) */
  xattrPaths: number;
  /** Regular files the writer threads created (the rest: this thread) */
  byWriters: number;
}

const MAX_SYMLINKS = 40; // Linux's MAXSYMLINKS
const GUNZIP_CHUNK = 256 * 1024;

type Lookup = { kind: 'dir'; parts: string[] } | { kind: 'missing' } | { kind: 'ignored' };

/** Wait for the first bytes of a stream without consuming them. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  // an input that ended or closed before we came would never say so again: fail, never wait
  if (input.readableEnded || input.destroyed) throw new Error('the layer stream had already ended or closed before it was read');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const cleanup = (): void => {
      input.off('readable', onReadable);
      input.off('end', onEnd);
      input.off('error', onError);
    };
    const finish = (ended: boolean): void => {
      cleanup();
      const buf = Buffer.concat(chunks, len);
      if (ended) {
        // unshift after 'end' is not allowed: hand on a fresh stream of what was read
        resolve({ head: buf.subarray(0, n), stream: Readable.from(buf.length ? [buf] : [], { objectMode: false }) });
      } else {
        input.unshift(buf);
        resolve({ head: buf.subarray(0, n), stream: input });
      }
    };
    const onReadable = (): void => {
      let c: Buffer | null;
      while (len < n && (c = input.read() as Buffer | null) !== null) {
        chunks.push(c);
        len += c.length;
      }
      if (len >= n) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onError = (err: Error): void => { cleanup(); reject(err); };
    input.on('readable', onReadable);
    input.on('end', onEnd);
    input.on('error', onError);
  });
}

/** The compression a layer's first bytes (4 suffice) announce: gzip and zstd by their magic. */
export function compressionOfHead(head: Buffer): 'gzip' | 'zstd' | 'none' {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/**
 * Undo gzip or zstd when the stream starts with their magic bytes; plain tar passes through.
 * zstd: Node's own where it has one (22.15+), else the `zstd` program at `zstd` (a path).
 */
export async function decompressIfNeeded(input: Readable, zstd?: string): Promise<Readable> {
  const { head, stream } = await peek(input, 4);
  const compression = compressionOfHead(head);
  if (compression === 'gzip') {
    // zlib hands out one chunk per thread-pool round trip: its 16 KiB default made gunzip of a
    // 77 MB layer take 0.5 s instead of 0.2 s
    const gunzip = zlib.createGunzip({ chunkSize: GUNZIP_CHUNK });
    stream.on('error', (err) => gunzip.destroy(err));
    return stream.pipe(gunzip);
  }
  if (compression === 'zstd') {
    const native = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
    if (typeof native === 'function') {
      const unzstd = native();
      stream.on('error', (err) => unzstd.destroy(err));
      return stream.pipe(unzstd);
    }
    if (zstd) return throughZstdProgram(stream, zstd);
    throw new UserError(`layer is zstd-compressed: Node ${process.version} cannot decompress it (22.15+ can) and no zstd program was found: install zstd (Debian: apt-get install zstd)`);
  }
  return stream;
}

/**
 * `zstd -d` as a stream. Its output ends only once the program exited well: a tar cut short at an
 * entry's end would otherwise pass for a whole one.
 */
function throughZstdProgram(input: Readable, bin: string): Readable {
  const child = spawn(bin, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough({ highWaterMark: GUNZIP_CHUNK });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
  child.stdin.on('error', () => undefined); // EPIPE when zstd stops early: its exit status says why
  input.on('error', (err) => { out.destroy(err); child.kill('SIGKILL'); });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on('error', (err) => out.destroy(new Error(`cannot run ${bin}: ${err.message}`)));
  child.on('close', (code, signal) => {
    if (out.destroyed) return;
    if (code === 0) out.end();
    else out.destroy(new Error(`zstd -d failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
  });
  // a reader that stops early stops zstd too
  out.on('close', () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return out;
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException)?.code ?? '');
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
}

/**
 * The process's umask, read from /proc (process.umask() cannot be called in a worker thread and
 * its getter is deprecated); undefined when unknown, and then every file gets its chmod. Read
 * for each layer, not once: the startup snapshot's training run extracts a layer too.
 */
function processUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? parseInt(m[1], 8) : undefined;
  } catch {
    return undefined;
  }
}

class LayerApplier {
  private readonly root: string;
  private readonly preserveOwnership: boolean;
  /** unresolved in-root directory path → its resolved components (no symlinks left) */
  private dirCache = new Map<string, string[]>();
  /** resolved in-root paths this layer wrote, and every ancestor of them */
  private readonly written = new Set<string>();
  private readonly writtenAncestors = new Set<string>();
  /** directory metadata applied at the end, when nothing will be created in them any more */
  private readonly dirMeta = new Map<string, { mode: number; mtime: number }>();
  /**
   * Host paths of directories this extraction made, which have no setgid bit until finish():
   * a file created in one belongs to our own uid and gid already, so it needs no chown.
   */
  private readonly madeDirs = new Set<string>();
  private readonly ownIds = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
  private readonly umask = processUmask();
  /** Extended attributes to set once every entry is in place (a chown would clear a capability). */
  readonly xattrs = new Map<string, Record<string, Buffer>>();
  files = 0;
  /** the threads creating small files, once the layer has shown enough of them */
  private writers: FileWriters | undefined;
  private regularFiles = 0;
  byWriters = 0;
  private readonly writersWanted: number;
  private readonly writersAfter: number;

  constructor(root: string, private readonly opts: ExtractOptions) {
    this.root = root;
    this.preserveOwnership = opts.preserveOwnership ?? (typeof process.getuid === 'function' && process.getuid() === 0);
    this.writersWanted = opts.fileWriters ?? fileWritersBeside(0);
    this.writersAfter = opts.fileWritersAfter ?? FILE_WRITERS_AFTER;
  }

  /** Wait until the writers have created every file handed to them; their first failure fails the entry it names. */
  private async drainWriters(): Promise<void> {
    if (!this.writers || this.writers.idle) return this.checkWriters();
    await this.writers.drain();
    this.checkWriters();
  }

  private checkWriters(): void {
    const f = this.writers?.failure;
    if (f) throw this.fail(f.name, `cannot create file ${f.path}: ${f.message}`);
  }

  async close(): Promise<void> {
    await this.writers?.close();
  }

  private host(parts: readonly string[]): string {
    if (parts.length === 0) return this.root;
    return this.root === '/' ? '/' + parts.join('/') : this.root + '/' + parts.join('/');
  }

  private fail(name: string, why: string, cause?: unknown): UserError {
    const layer = this.opts.layerName ? ` of layer ${this.opts.layerName}` : '';
    return new UserError(`entry "${name}"${layer}: ${why}`, cause !== undefined ? { cause } : {});
  }

  /** Lexically clean an entry name into components; '..' above root is an error. */
  private clean(name: string, entryName = name, what = 'path'): string[] {
    const parts: string[] = [];
    for (const c of name.split('/')) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (parts.length === 0) throw this.fail(entryName, `${what} "${name}" climbs out of the root directory with ".."`);
        parts.pop();
        continue;
      }
      parts.push(c);
    }
    return parts;
  }

  /**
   * Resolve a directory path inside root, following symlinks with root as '/', optionally
   * creating missing directories (0755, like Docker's implicit parents).
   */
  private resolveDir(parts: string[], create: boolean, name: string): Lookup {
    const key = parts.join('/');
    const cached = this.dirCache.get(key);
    if (cached) return { kind: 'dir', parts: cached };
    let cur: string[] = [];
    const queue = [...parts];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') { cur.pop(); continue; } // chroot semantics: '..' of root is root
      const next = [...cur, c];
      const h = this.host(next);
      if (this.opts.ignore?.ignores(h)) return { kind: 'ignored' };
      const st = lstatOrUndefined(h);
      if (!st && this.writers?.pending(h)) throw this.fail(name, `"${next.join('/')}" is not a directory, expected one as a parent`);
      if (!st) {
        if (!create) return { kind: 'missing' };
        fs.mkdirSync(h, { mode: 0o755 });
        this.madeDirs.add(h);
        cur = next;
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw this.fail(name, `too many levels of symbolic links resolving "${key}"`);
        const target = fs.readlinkSync(h);
        if (target.startsWith('/')) cur = [];
        queue.unshift(...target.split('/'));
        continue;
      }
      if (!st.isDirectory()) throw this.fail(name, `"${next.join('/')}" is not a directory, expected one as a parent`);
      cur = next;
    }
    this.dirCache.set(key, cur);
    return { kind: 'dir', parts: cur };
  }

  private markWritten(parts: string[]): void {
    this.written.add(parts.join('/'));
    for (let i = parts.length - 1; i >= 1; i--) {
      const a = parts.slice(0, i).join('/');
      if (this.writtenAncestors.has(a)) break; // its ancestors are in already
      this.writtenAncestors.add(a);
    }
  }

  /** Remove a host path (recursively, never following symlinks), sparing ignored paths. */
  private removeTree(h: string, st: fs.Stats): void {
    // what could be under h or be h must be created first (see file-writers.ts)
    if (this.writers && !this.writers.idle) throw new Error(`internal error: removing ${h} while files are being written`);
    if (st.isDirectory() || st.isSymbolicLink()) {
      this.dirCache.clear();
      this.madeDirs.clear();
    }
    if (st.isDirectory()) this.forgetDeferredUnder(h);
    if (!st.isDirectory()) {
      fs.unlinkSync(h);
      return;
    }
    const ignore = this.opts.ignore;
    if (!ignore || !ignore.hasIgnoredBelow(h)) {
      fs.rmSync(h, { recursive: true, force: true });
      return;
    }
    for (const d of fs.readdirSync(h, { withFileTypes: true })) {
      const child = h + '/' + d.name;
      if (ignore.ignores(child)) continue;
      this.removeTree(child, fs.lstatSync(child));
    }
  }

  /**
   * Drop the directory metadata and extended attributes this layer left for paths under a
   * directory that goes away. They are host paths, resolved when their entries were applied: once
   * a later entry puts a symlink where the directory was (`d/sub/`, then `d -> /outside`), the
   * chmod, utimes and setfattr of finish() would follow it out of the root. Only a directory this
   * layer wrote into can have any, so a lower layer's removed tree costs no scan.
   */
  private forgetDeferredUnder(h: string): void {
    const inRoot = this.root === '/' ? h.slice(1) : h.slice(this.root.length + 1);
    if (!this.written.has(inRoot) && !this.writtenAncestors.has(inRoot)) return;
    const prefix = h + '/';
    for (const k of this.dirMeta.keys()) if (k === h || k.startsWith(prefix)) this.dirMeta.delete(k);
    for (const k of this.xattrs.keys()) if (k === h || k.startsWith(prefix)) this.xattrs.delete(k);
  }

  /** Remove what lower layers left under a directory, keeping what this layer wrote there. */
  private removeLowerUnder(dirParts: string[]): void {
    const h = this.host(dirParts);
    const prefix = dirParts.length ? dirParts.join('/') + '/' : '';
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(h, { withFileTypes: true });
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    for (const d of dirents) {
      const key = prefix + d.name;
      const childParts = [...dirParts, d.name];
      const childHost = this.host(childParts);
      if (this.opts.ignore?.ignores(childHost)) continue;
      if (this.writtenAncestors.has(key) || (this.written.has(key) && d.isDirectory())) {
        this.removeLowerUnder(childParts);
      } else if (!this.written.has(key)) {
        this.removeTree(childHost, fs.lstatSync(childHost));
      }
    }
  }

  private whiteout(name: string, parentParts: string[], victim: string): void {
    if (victim === '' || victim === '.' || victim === '..' || victim.includes('/')) {
      throw this.fail(name, `whiteout names an invalid path component "${victim}"`);
    }
    const parent = this.resolveDir(parentParts, false, name);
    if (parent.kind !== 'dir') return;
    const parts = [...parent.parts, victim];
    const key = parts.join('/');
    const h = this.host(parts);
    if (this.opts.ignore?.ignores(h)) return;
    const st = lstatOrUndefined(h);
    if (!st) return;
    // Whiteouts hide lower layers only: what this layer itself put there stays.
    if (this.writtenAncestors.has(key) || this.written.has(key)) {
      if (st.isDirectory()) this.removeLowerUnder(parts);
      return;
    }
    this.removeTree(h, st);
  }

  private opaque(name: string, dirParts: string[]): void {
    const dir = this.resolveDir(dirParts, false, name);
    if (dir.kind !== 'dir') return;
    this.removeLowerUnder(dir.parts);
  }

  async apply(entry: TarEntry): Promise<void> {
    const hdr = entry.header;
    const name = hdr.name;
    const pax = hdr.pax as Record<string, string> | null | undefined;
    const uid = pax?.uid !== undefined ? parseInt(pax.uid, 10) : hdr.uid ?? 0;
    const gid = pax?.gid !== undefined ? parseInt(pax.gid, 10) : hdr.gid ?? 0;
    const mtime = pax?.mtime !== undefined ? parseFloat(pax.mtime) : (hdr.mtime?.getTime() ?? 0) / 1000;
    const mode = (hdr.mode ?? 0o644) & 0o7777;

    const parts = this.clean(name);
    if (parts.length === 0) return; // the root itself ("./"): its metadata belongs to whoever made root
    const base = parts[parts.length - 1];
    const parentParts = parts.slice(0, -1);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.drainWriters();
      if (base === OPAQUE_MARKER) {
        this.opaque(name, parentParts);
        this.notify(parentParts.join('/'), 'opaque');
      } else if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        return; // other aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not part of the image
      } else {
        this.whiteout(name, parentParts, base.slice(WHITEOUT_PREFIX.length));
        this.notify([...parentParts, base.slice(WHITEOUT_PREFIX.length)].join('/'), 'whiteout');
      }
      return;
    }

    let kind: LayerEntryType;
    switch (hdr.type) {
      case 'file': case 'contiguous-file': kind = 'file'; break;
      case 'directory': kind = 'dir'; break;
      case 'symlink': kind = 'symlink'; break;
      case 'link': kind = 'hardlink'; break;
      case 'character-device': kind = 'char'; break;
      case 'block-device': kind = 'block'; break;
      case 'fifo': kind = 'fifo'; break;
      default:
        log.warn(`skipping layer entry "${name}" of unsupported tar type '${hdr.typeflag}'`, { layer: this.opts.layerName });
        return;
    }

    const parent = this.resolveDir(parentParts, true, name);
    if (parent.kind === 'ignored') return;
    if (parent.kind === 'missing') throw this.fail(name, 'parent directory could not be created');
    const resolved = [...parent.parts, base];
    const h = this.host(resolved);
    if (this.opts.ignore?.ignores(h)) return;
    // an entry at a path a writer has yet to create, or a hardlink (its target may be pending)
    if (this.writers && (this.writers.pending(h) || kind === 'hardlink')) await this.drainWriters();
    else this.checkWriters();

    const own = this.preserveOwnership;
    try {
      switch (kind) {
        case 'dir': {
          const kept = (await this.createReplacing(name, h, true, () => fs.mkdirSync(h, { mode: 0o700 }))) === 'kept-dir';
          if (kept ? own : this.needsChown(h, uid, gid)) fs.lchownSync(h, uid, gid);
          if (!kept) this.madeDirs.add(h);
          this.dirMeta.set(h, { mode, mtime });
          this.dirCache.set(parts.join('/'), resolved);
          break;
        }
        case 'file': {
          const c = fs.constants;
          // Most files need neither chown nor chmod after create (two of six syscalls per file):
          // created by the owner they name, in a directory without setgid, with a mode the
          // umask leaves alone. Special bits always get the chmod (chown clears them).
          const chown = this.needsChown(h, uid, gid);
          const chmod = chown || (mode & 0o7000) !== 0 || this.umask === undefined || (mode & this.umask) !== 0;
          if (await this.handOver(entry, name, h, resolved, { uid, gid, mode, mtime, chown, chmod })) break;
          const file = await this.createReplacing(name, h, false, () => fs.openSync(h, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, chmod ? 0o600 : mode)) as number;
          try {
            for await (const chunk of entry) {
              for (let off = 0; off < chunk.length;) off += fs.writeSync(file, chunk, off, chunk.length - off);
            }
            if (chown) fs.fchownSync(file, uid, gid);
            if (chmod) fs.fchmodSync(file, mode); // after chown, which clears setuid/setgid
            fs.futimesSync(file, fileTime(mtime), fileTime(mtime));
          } finally {
            fs.closeSync(file);
          }
          break;
        }
        case 'symlink':
          await this.createReplacing(name, h, false, () => fs.symlinkSync(hdr.linkname ?? '', h));
          if (this.needsChown(h, uid, gid)) fs.lchownSync(h, uid, gid);
          fs.lutimesSync(h, fileTime(mtime), fileTime(mtime));
          break;
        case 'hardlink':
          await this.createReplacing(name, h, false, () => this.hardlink(name, hdr.linkname ?? '', h));
          break;
        default: {
          const existing = lstatOrUndefined(h);
          if (existing) {
            await this.drainWriters();
            this.replace(name, h, existing);
          }
          if (!(await this.mknod(name, kind, h, hdr.devmajor ?? 0, hdr.devminor ?? 0))) return;
          if (own) fs.lchownSync(h, uid, gid);
          fs.chmodSync(h, mode); // h is the node just made, not a symlink
          fs.lutimesSync(h, fileTime(mtime), fileTime(mtime));
        }
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw this.fail(name, `cannot create ${kind} ${h}: ${(err as Error).message}`, err);
    }
    this.markWritten(resolved);
    const attrs = xattrsOfPax(pax);
    if (attrs) this.xattrs.set(h, attrs);
    else if (this.xattrs.size > 0) this.xattrs.delete(h); // replaced by an entry without any
    this.notify(resolved.join('/'), kind, kind === 'symlink' ? hdr.linkname ?? '' : undefined);
  }

  /**
   * Give a small new file to the writer threads (starting them once the layer has shown enough
   * files); false when this thread must create it: no writers (yet), a big file, or a directory
   * or symlink in the way (replacing those changes how later entries resolve: done here, in order).
   */
  private async handOver(entry: TarEntry, name: string, h: string, resolved: string[],
    m: { uid: number; gid: number; mode: number; mtime: number; chown: boolean; chmod: boolean }): Promise<boolean> {
    if (this.writersWanted === 0) return false;
    if (!this.writers && ++this.regularFiles >= this.writersAfter) {
      this.writers = new FileWriters(this.writersWanted);
      if (this.writersAfter === 0) await this.writers.whenReady();
    }
    const size = entry.header.size ?? 0;
    if (!this.writers?.ready || size > FILE_WRITER_MAX_FILE) return false;
    // In a directory this extraction made, only this layer's entries can be in the way.
    const fresh = this.madeDirs.has(h.slice(0, h.lastIndexOf('/'))) && !this.written.has(resolved.join('/'));
    if (!fresh) {
      const st = lstatOrUndefined(h);
      if (st && (st.isDirectory() || st.isSymbolicLink())) return false;
    }
    const chunks: Buffer[] = [];
    let got = 0;
    for await (const chunk of entry) {
      chunks.push(chunk);
      got += chunk.length;
    }
    await this.writers.submit({
      path: h, name, createMode: m.chmod ? 0o600 : m.mode, mtime: m.mtime,
      chown: m.chown ? { uid: m.uid, gid: m.gid } : undefined, chmod: m.chmod ? m.mode : undefined,
    }, chunks, got);
    this.byWriters++;
    return true;
  }

  /**
   * Whether what was just created at `h` needs a chown to belong to uid:gid. Not when it is ours
   * already: made by our uid and gid in a directory this extraction made (no setgid bit yet).
   */
  private needsChown(h: string, uid: number, gid: number): boolean {
    if (!this.preserveOwnership) return false;
    return !(uid === this.ownIds.uid && gid === this.ownIds.gid && this.madeDirs.has(h.slice(0, h.lastIndexOf('/'))));
  }

  private replace(name: string, h: string, existing: fs.Stats): void {
    try {
      this.removeTree(h, existing);
    } catch (err) {
      throw this.fail(name, `cannot replace the existing ${existing.isDirectory() ? 'directory' : 'file'}: ${(err as Error).message}`, err);
    }
  }

  /**
   * Create optimistically (a fresh root has nothing in the way, so no lstat first); on EEXIST
   * remove what is there and create again, or keep an existing directory when making one.
   */
  private async createReplacing<T>(name: string, h: string, isDir: boolean, make: () => T): Promise<T | 'kept-dir'> {
    try {
      return make();
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
    }
    const existing = fs.lstatSync(h);
    if (isDir && existing.isDirectory()) return 'kept-dir';
    await this.drainWriters();
    this.replace(name, h, existing);
    return make();
  }

  private notify(p: string, kind: LayerEntryType, linkname?: string): void {
    this.files++;
    this.opts.onEntry?.(p, kind, linkname);
  }

  private hardlink(name: string, linkname: string, h: string): void {
    const target = this.clean(linkname, name, 'hardlink target');
    if (target.length === 0) throw this.fail(name, 'hardlink to the root directory');
    const dir = this.resolveDir(target.slice(0, -1), false, name);
    if (dir.kind !== 'dir') throw this.fail(name, `hardlink target "${linkname}" does not exist in the root`);
    const th = this.host([...dir.parts, target[target.length - 1]]);
    if (this.opts.ignore?.ignores(th)) throw this.fail(name, `hardlink target "${linkname}" lies in an ignored path`);
    const st = lstatOrUndefined(th);
    if (!st) throw this.fail(name, `hardlink target "${linkname}" does not exist in the root`);
    if (st.isDirectory()) throw this.fail(name, `hardlink target "${linkname}" is a directory`);
    fs.linkSync(th, h); // link(2) does not follow a symlink target: the link is to the symlink
  }

  /** Node has no mknod: use the mknod tool. False when not permitted (unprivileged builds). */
  private async mknod(name: string, kind: LayerEntryType, h: string, major: number, minor: number): Promise<boolean> {
    const args = kind === 'fifo' ? [h, 'p'] : [h, kind === 'char' ? 'c' : 'b', String(major), String(minor)];
    try {
      await execFileP('mknod', args);
      return true;
    } catch (err) {
      const text = `${(err as { stderr?: string }).stderr ?? ''} ${(err as Error).message}`;
      if (/Operation not permitted|EPERM|ENOENT/.test(text)) {
        log.warn(`skipping ${kind} node "${name}": not permitted here`, { layer: this.opts.layerName });
        return false;
      }
      throw this.fail(name, `cannot create ${kind} node: ${text.trim()}`, err);
    }
  }

  async finish(): Promise<void> {
    await this.drainWriters();
    // Directories last: creating entries inside them moved their mtimes.
    for (const [h, meta] of this.dirMeta) {
      const st = lstatOrUndefined(h);
      if (!st || !st.isDirectory()) continue; // replaced later in the layer
      fs.chmodSync(h, meta.mode);
      fs.lutimesSync(h, fileTime(meta.mtime), fileTime(meta.mtime));
    }
  }
}

function setXattrs(attrs: Map<string, Record<string, Buffer>>, opts: ExtractOptions): void {
  const layer = opts.layerName;
  if (!opts.setfattr) {
    log.debug(`layer carries extended attributes on ${attrs.size} path(s); not applied: no setfattr (package attr) on this host`, { layer });
    return;
  }
  // a path a later entry of the layer removed again has nothing to set
  const problems = writeXattrs(opts.setfattr, attrs).filter((l) => !/No such file or directory/.test(l));
  // what Linux refuses here (user.* on a symlink, capabilities without CAP_SETFCAP) is not worth a failed build
  if (problems.length) log.warn(`some extended attributes of the layer were not set: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ' …' : ''}`, { layer });
}

/** A hash for checking a layer against its diffID, of the algorithm the diffID names. */
function diffIdHash(diffId: string, layerName: string | undefined): { algorithm: string; hash: Hash; update(b: Buffer): void } {
  const algorithm = /^(sha256|sha512):[0-9a-f]+$/.exec(diffId)?.[1];
  if (!algorithm) throw new UserError(`layer${layerName ? ` ${layerName}` : ''}: its diff_id ${JSON.stringify(diffId)} is not a sha256 or sha512 digest`);
  const hash = createHash(algorithm);
  return { algorithm, hash, update: (b) => { hash.update(b); } };
}

/**
 * Apply a layer (gzip or plain tar, detected from its first bytes) onto `root`.
 * See the top of this file for the path-safety rules.
 */
export async function extractLayer(input: Readable, root: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(root);
    if (!(await fs.promises.stat(realRoot)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new UserError(`cannot extract into ${root}: ${(err as Error).message}`, { cause: err });
  }
  const applier = new LayerApplier(realRoot, opts);
  const diff = opts.diffId === undefined ? undefined : diffIdHash(opts.diffId, opts.layerName);
  const tarStream = await decompressIfNeeded(input, opts.zstd);
  // the uncompressed chunks, hashed on their way to the reader when a diffID is to be checked
  const source = tarStream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: AsyncIterable<Buffer> = diff
    ? { [Symbol.asyncIterator]: () => ({ next: async () => { const r = await source.next(); if (!r.done) diff.update(r.value); return r; } }) }
    : { [Symbol.asyncIterator]: () => source };
  // an error of the compressed input reaches the reader through the decompressing stream
  try {
    for await (const entry of readTar(chunks)) {
      try {
        await applier.apply(entry);
      } catch (err) {
        if (err instanceof UserError) throw err;
        const layer = opts.layerName ? ` of layer ${opts.layerName}` : '';
        throw new UserError(`entry "${entry.header.name}"${layer}: ${(err as Error).message}`, { cause: err });
      }
    }
    // Whatever follows the end of the archive is read too: the diffID covers it, and a blob from
    // a registry is checked against its digest only at its end.
    for (let r = await source.next(); !r.done; r = await source.next()) diff?.update(r.value);
    if (diff) {
      const actual = `${diff.algorithm}:${diff.hash.digest('hex')}`;
      if (actual !== opts.diffId) {
        throw new UserError(`layer${opts.layerName ? ` ${opts.layerName}` : ''}: its uncompressed content hashes to ${actual}, but the image config's diff_id is ${opts.diffId}: the image is corrupt or was tampered with`);
      }
    }
    await applier.finish();
    if (applier.xattrs.size > 0) setXattrs(applier.xattrs, opts);
  } catch (err) {
    tarStream.destroy();
    if (input !== tarStream) input.destroy();
    const layer = opts.layerName ? ` ${opts.layerName}` : '';
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot extract layer${layer}: ${(err as Error).message}`, { cause: err });
  } finally {
    await applier.close();
  }
  return { files: applier.files, xattrPaths: applier.xattrs.size, byWriters: applier.byWriters };
}
