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
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { log, UserError } from '../log';
import { type IgnoreList } from './ignore';
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type LayerEntryType } from './types';

const execFileP = promisify(execFile);

export interface ExtractOptions {
  /** chown entries to their uid/gid. Default: only when running as root. */
  preserveOwnership?: boolean;
  /** Called once per applied entry with its in-root path and kind. */
  onEntry?: (path: string, type: LayerEntryType) => void;
  /** Host paths never created, replaced or removed (kaniko-style extraction over '/'). */
  ignore?: IgnoreList;
  /** Named in error messages, e.g. the layer digest. */
  layerName?: string;
}

export interface ExtractResult {
  /** Entries applied (files, directories, links, nodes, whiteouts). */
  files: number;
}

const MAX_SYMLINKS = 40; // Linux's MAXSYMLINKS
const FINALIZE_IN_FLIGHT = 32;

/** One entry of tar-stream's extract iterator (its Source type is not exported). */
type TarEntry = { header: tar.Header; resume(): unknown } & AsyncIterable<Buffer>;

type Lookup = { kind: 'dir'; parts: string[] } | { kind: 'missing' } | { kind: 'ignored' };

/** Wait for the first bytes of a stream without consuming them. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
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

/** Undo gzip when the stream starts with gzip's magic bytes; plain tar passes through. */
export async function decompressIfNeeded(input: Readable): Promise<Readable> {
  const { head, stream } = await peek(input, 4);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = zlib.createGunzip();
    stream.on('error', (err) => gunzip.destroy(err));
    return stream.pipe(gunzip);
  }
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    throw new UserError('layer is zstd-compressed, which Node 20 cannot decompress: expected gzip or plain tar');
  }
  return stream;
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException)?.code ?? '');
}

async function lstatOrUndefined(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.lstat(p);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
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
  private readonly inflight = new Set<Promise<void>>();
  private firstError: unknown;
  private warnedXattrs = false;
  files = 0;

  constructor(root: string, private readonly opts: ExtractOptions) {
    this.root = root;
    this.preserveOwnership = opts.preserveOwnership ?? (typeof process.getuid === 'function' && process.getuid() === 0);
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
  private async resolveDir(parts: string[], create: boolean, name: string): Promise<Lookup> {
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
      const st = await lstatOrUndefined(h);
      if (!st) {
        if (!create) return { kind: 'missing' };
        await fs.promises.mkdir(h, { mode: 0o755 });
        cur = next;
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw this.fail(name, `too many levels of symbolic links resolving "${key}"`);
        const target = await fs.promises.readlink(h);
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
  private async removeTree(h: string, st: fs.Stats): Promise<void> {
    if (st.isDirectory() || st.isSymbolicLink()) this.dirCache.clear();
    if (!st.isDirectory()) {
      await fs.promises.unlink(h);
      return;
    }
    const ignore = this.opts.ignore;
    if (!ignore || !ignore.hasIgnoredBelow(h)) {
      await fs.promises.rm(h, { recursive: true, force: true });
      return;
    }
    for (const d of await fs.promises.readdir(h, { withFileTypes: true })) {
      const child = h + '/' + d.name;
      if (ignore.ignores(child)) continue;
      await this.removeTree(child, await fs.promises.lstat(child));
    }
  }

  /** Remove what lower layers left under a directory, keeping what this layer wrote there. */
  private async removeLowerUnder(dirParts: string[]): Promise<void> {
    const h = this.host(dirParts);
    const prefix = dirParts.length ? dirParts.join('/') + '/' : '';
    let dirents: fs.Dirent[];
    try {
      dirents = await fs.promises.readdir(h, { withFileTypes: true });
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
        await this.removeLowerUnder(childParts);
      } else if (!this.written.has(key)) {
        await this.removeTree(childHost, await fs.promises.lstat(childHost));
      }
    }
  }

  private async whiteout(name: string, parentParts: string[], victim: string): Promise<void> {
    if (victim === '' || victim === '.' || victim === '..' || victim.includes('/')) {
      throw this.fail(name, `whiteout names an invalid path component "${victim}"`);
    }
    const parent = await this.resolveDir(parentParts, false, name);
    if (parent.kind !== 'dir') return;
    const parts = [...parent.parts, victim];
    const key = parts.join('/');
    const h = this.host(parts);
    if (this.opts.ignore?.ignores(h)) return;
    const st = await lstatOrUndefined(h);
    if (!st) return;
    // Whiteouts hide lower layers only: what this layer itself put there stays.
    if (this.writtenAncestors.has(key) || this.written.has(key)) {
      if (st.isDirectory()) await this.removeLowerUnder(parts);
      return;
    }
    await this.removeTree(h, st);
  }

  private async opaque(name: string, dirParts: string[]): Promise<void> {
    const dir = await this.resolveDir(dirParts, false, name);
    if (dir.kind !== 'dir') return;
    await this.removeLowerUnder(dir.parts);
  }

  /** Run fd-level finishing work off the critical path, a bounded number at a time. */
  private async background(task: () => Promise<void>): Promise<void> {
    while (this.inflight.size >= FINALIZE_IN_FLIGHT) await Promise.race(this.inflight);
    if (this.firstError !== undefined) throw this.firstError;
    const p: Promise<void> = task()
      .catch((err) => { this.firstError ??= err; })
      .finally(() => { this.inflight.delete(p); });
    this.inflight.add(p);
  }

  async apply(entry: TarEntry): Promise<void> {
    const hdr = entry.header;
    const name = hdr.name;
    if (this.firstError !== undefined) throw this.firstError;
    const pax = hdr.pax as Record<string, string> | null | undefined;
    const uid = pax?.uid !== undefined ? parseInt(pax.uid, 10) : hdr.uid ?? 0;
    const gid = pax?.gid !== undefined ? parseInt(pax.gid, 10) : hdr.gid ?? 0;
    const mtime = pax?.mtime !== undefined ? parseFloat(pax.mtime) : (hdr.mtime?.getTime() ?? 0) / 1000;
    const mode = (hdr.mode ?? 0o644) & 0o7777;
    if (pax && !this.warnedXattrs && Object.keys(pax).some((k) => k.startsWith('SCHILY.xattr.'))) {
      this.warnedXattrs = true;
      log.debug('layer carries extended attributes; they are not applied (Node has no xattr API)', { layer: this.opts.layerName });
    }

    const parts = this.clean(name);
    if (parts.length === 0) return; // the root itself ("./"): its metadata belongs to whoever made root
    const base = parts[parts.length - 1];
    const parentParts = parts.slice(0, -1);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE_MARKER) {
        await this.opaque(name, parentParts);
        this.notify(parentParts.join('/'), 'opaque');
      } else if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        return; // other aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not part of the image
      } else {
        await this.whiteout(name, parentParts, base.slice(WHITEOUT_PREFIX.length));
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
        log.warn(`skipping layer entry "${name}" of unsupported tar type ${String(hdr.type)}`, { layer: this.opts.layerName });
        return;
    }

    const parent = await this.resolveDir(parentParts, true, name);
    if (parent.kind === 'ignored') return;
    if (parent.kind === 'missing') throw this.fail(name, 'parent directory could not be created');
    const resolved = [...parent.parts, base];
    const h = this.host(resolved);
    if (this.opts.ignore?.ignores(h)) return;

    const existing = await lstatOrUndefined(h);
    if (existing && !(kind === 'dir' && existing.isDirectory())) {
      try {
        await this.removeTree(h, existing);
      } catch (err) {
        throw this.fail(name, `cannot replace the existing ${existing.isDirectory() ? 'directory' : 'file'}: ${(err as Error).message}`, err);
      }
    }

    try {
      switch (kind) {
        case 'dir':
          if (!existing || !existing.isDirectory()) await fs.promises.mkdir(h, { mode: 0o700 });
          if (this.preserveOwnership) await fs.promises.lchown(h, uid, gid);
          this.dirMeta.set(h, { mode, mtime });
          this.dirCache.set(parts.join('/'), resolved);
          break;
        case 'file':
          await this.writeFile(entry, h, mode, uid, gid, mtime);
          break;
        case 'symlink':
          await fs.promises.symlink(hdr.linkname ?? '', h);
          if (this.preserveOwnership) await fs.promises.lchown(h, uid, gid);
          await fs.promises.lutimes(h, mtime, mtime);
          break;
        case 'hardlink':
          await this.hardlink(name, hdr.linkname ?? '', h);
          break;
        default:
          if (!(await this.mknod(name, kind, h, hdr.devmajor ?? 0, hdr.devminor ?? 0))) return;
          if (this.preserveOwnership) await fs.promises.lchown(h, uid, gid);
          await fs.promises.chmod(h, mode); // h is the node just made, not a symlink
          await fs.promises.lutimes(h, mtime, mtime);
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw this.fail(name, `cannot create ${kind} ${h}: ${(err as Error).message}`, err);
    }
    this.markWritten(resolved);
    this.notify(resolved.join('/'), kind);
  }

  private notify(p: string, kind: LayerEntryType): void {
    this.files++;
    this.opts.onEntry?.(p, kind);
  }

  private async writeFile(entry: TarEntry, h: string, mode: number, uid: number, gid: number, mtime: number): Promise<void> {
    const c = fs.constants;
    const fh = await fs.promises.open(h, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of entry) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    const own = this.preserveOwnership;
    // chown clears setuid/setgid, so the mode goes on after it.
    await this.background(async () => {
      try {
        if (own) await fh.chown(uid, gid);
        await fh.chmod(mode);
        await fh.utimes(mtime, mtime);
      } finally {
        await fh.close();
      }
    });
  }

  private async hardlink(name: string, linkname: string, h: string): Promise<void> {
    const target = this.clean(linkname, name, 'hardlink target');
    if (target.length === 0) throw this.fail(name, 'hardlink to the root directory');
    const dir = await this.resolveDir(target.slice(0, -1), false, name);
    if (dir.kind !== 'dir') throw this.fail(name, `hardlink target "${linkname}" does not exist in the root`);
    const th = this.host([...dir.parts, target[target.length - 1]]);
    const st = await lstatOrUndefined(th);
    if (!st) throw this.fail(name, `hardlink target "${linkname}" does not exist in the root`);
    if (st.isDirectory()) throw this.fail(name, `hardlink target "${linkname}" is a directory`);
    await fs.promises.link(th, h); // link(2) does not follow a symlink target: the link is to the symlink
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
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    if (this.firstError !== undefined) throw this.firstError;
    // Directories last: creating entries inside them moved their mtimes.
    for (const [h, meta] of this.dirMeta) {
      const st = await lstatOrUndefined(h);
      if (!st || !st.isDirectory()) continue; // replaced later in the layer
      await fs.promises.chmod(h, meta.mode);
      await fs.promises.lutimes(h, meta.mtime, meta.mtime);
    }
  }

  async drainInflight(): Promise<void> {
    while (this.inflight.size > 0) await Promise.race(this.inflight);
  }
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
  const tarStream = await decompressIfNeeded(input);
  const extract = tar.extract();
  const onSourceError = (err: Error): void => { extract.destroy(err); };
  tarStream.on('error', onSourceError);
  input.on('error', onSourceError);
  tarStream.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      try {
        await applier.apply(entry as unknown as TarEntry);
      } finally {
        entry.resume(); // whatever was not read (non-files, skipped entries) is drained
      }
    }
    await applier.finish();
  } catch (err) {
    extract.destroy();
    tarStream.unpipe(extract as unknown as NodeJS.WritableStream);
    tarStream.destroy();
    if (input !== tarStream) input.destroy();
    await applier.drainInflight();
    const layer = opts.layerName ? ` ${opts.layerName}` : '';
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot extract layer${layer}: ${(err as Error).message}`, { cause: err });
  }
  return { files: applier.files };
}
