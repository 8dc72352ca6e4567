// Writes a layer tarball in one streaming pass:
//   tar bytes → sha256 (diffID) → gzip (parallel-gzip.ts: 1 MiB members on every core) → sha256 (digest) → file
// Entries go out sorted; nothing but one small file or one read chunk of a large file and the
// current batch is held in memory whatever the layer size.
// Source files are opened, stat'ed and (when small) read with synchronous calls: four thread-pool
// round trips per file cost the main thread more than the syscalls themselves (20,000 small
// files, COPY without RUN: 2.2-3.0 s with a read-ahead window of 16 async reads -> 1.2-1.9 s).
// What is lost is overlapping disk latency on a cold page cache; build contexts are usually warm.
import * as fs from 'node:fs';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../log';
import * as fd from './fd';
import { HashStream, type Digest } from './hash';
import { ParallelGzip } from './parallel-gzip';
import { encodeHeader, END_OF_ARCHIVE, paddingFor, type TypeFlag } from './tar-header';
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type LayerEntry } from './types';

export type LayerCompression = 'gzip' | 'none'; // zstd: Node 20's zlib has none (added in Node 22.15)

export interface WriteLayerOptions {
  compression: LayerCompression;
  /**
   * gzip level. Default 3: measured here on 100 MB of /usr/lib, level 1 and 3 run at the same
   * speed (~80 MB/s per core, within noise) and 3 is 3% smaller; level 6 (zlib's and buildah's
   * default) is 1.8x slower for 2% less. ggcr/kaniko pick BestSpeed for the same reason.
   */
  level?: number;
  /** Normalized timestamps: every mtime = sourceDateEpoch (default 0), empty uname/gname. */
  reproducible?: boolean;
  /**
   * SOURCE_DATE_EPOCH in seconds. With `reproducible` every mtime is set to it; without, mtimes
   * later than it are clamped to it (BuildKit's rewrite-timestamp behaviour).
   */
  sourceDateEpoch?: number;
  /** Keep millisecond mtimes (a PAX record per entry). Default: true unless reproducible. */
  preciseMtime?: boolean;
  /**
   * Also stream the uncompressed tar here (e.g. into extractLayer, to apply the layer to a root
   * in the same pass). Ended with the layer; its backpressure slows the writer.
   */
  tap?: Writable;
  /**
   * The tap is done with a chunk when its write() returns (it copies, as the extraction worker
   * does), so read buffers can be reused. Otherwise each read gets a fresh buffer.
   */
  tapCopies?: boolean;
}

export interface LayerWriteResult {
  /** sha256 of the file as written (compressed). */
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  uncompressedSize: number;
}

const DEFAULT_GZIP_LEVEL = 3;
const SMALL_FILE = 64 * 1024; // read whole into memory when opened
const CHUNK = 1 << 20; // read size for large files
const READ_BUFFERS = 8; // more than the pipeline holds before its backpressure stops the reader
const BATCH = 256 * 1024; // headers and small files are coalesced into chunks of this size

interface PlanItem {
  name: string;
  /** in-image path, components joined by '/' (no trailing slash) */
  key: string;
  sortKey: string;
  typeflag: TypeFlag;
  /** the entry whose metadata is written */
  meta: LayerEntry;
  linkname?: string;
  /** for regular files: where the bytes come from (may differ from meta for explicit hardlink groups) */
  data?: LayerEntry;
  /** entry path as the caller gave it, for error messages */
  given: string;
}

/** Split an in-image path into clean components; '..' is refused, a leading '/' is tolerated. */
export function imagePathComponents(p: string, what: string): string[] {
  const parts: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new UserError(`${what} "${p}": ".." is not allowed in a layer path`);
    if (c.includes('\0')) throw new UserError(`${what} "${p}": NUL byte in path`);
    parts.push(c);
  }
  return parts;
}

// Sort key: '/' becomes NUL so that a directory's whole subtree sorts together right after it
// (parents before children), and the opaque marker sorts first among its siblings so that naive
// extractors clear the directory before this layer's own entries land in it.
function sortKeyOf(parts: string[], opaque: boolean): string {
  const k = parts.join('\0');
  if (opaque) return k === '' ? '\0' : k + '\0';
  return k;
}

function planEntries(entries: readonly LayerEntry[]): PlanItem[] {
  const items: PlanItem[] = [];
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    const what = `layer entry`;
    let parts = imagePathComponents(e.path, what);
    let typeflag: TypeFlag;
    let isDir = false;
    let linkname: string | undefined;
    let opaque = false;
    switch (e.type) {
      case 'file':
        typeflag = '0';
        if (e.source !== undefined && e.content !== undefined) throw new UserError(`layer entry "${e.path}": give either source or content, not both`);
        break;
      case 'dir': typeflag = '5'; isDir = true; break;
      case 'symlink':
        typeflag = '2';
        if (!e.linkname) throw new UserError(`layer entry "${e.path}": symlink without a target (linkname)`);
        linkname = e.linkname;
        break;
      case 'hardlink':
        typeflag = '1';
        if (!e.linkname) throw new UserError(`layer entry "${e.path}": hardlink without a target (linkname)`);
        linkname = imagePathComponents(e.linkname, `hardlink target of "${e.path}"`).join('/');
        break;
      case 'char': typeflag = '3'; break;
      case 'block': typeflag = '4'; break;
      case 'fifo': typeflag = '6'; break;
      case 'whiteout':
        typeflag = '0';
        if (parts.length === 0) throw new UserError(`layer entry "${e.path}": a whiteout needs a path below /`);
        parts = [...parts.slice(0, -1), WHITEOUT_PREFIX + parts[parts.length - 1]];
        break;
      case 'opaque':
        typeflag = '0';
        opaque = true;
        parts = [...parts, OPAQUE_MARKER];
        break;
      default:
        throw new UserError(`layer entry "${e.path}": unknown type "${(e as { type: string }).type}"`);
    }
    if (parts.length === 0) throw new UserError(`layer entry "${e.path}": the root directory itself cannot be a layer entry`);
    if (!(e.mtime instanceof Date) || Number.isNaN(e.mtime.getTime())) throw new UserError(`layer entry "${e.path}": invalid mtime`);
    const name = parts.join('/') + (isDir ? '/' : '');
    const key = parts.join('/');
    if (byPath.has(key)) throw new UserError(`layer entry "${e.path}": the path "${key}" occurs twice in the layer`);
    byPath.set(key, e);
    items.push({
      name, key, sortKey: sortKeyOf(opaque ? parts.slice(0, -1) : parts, opaque), typeflag, meta: e, linkname,
      data: e.type === 'file' ? e : undefined, given: e.path,
    });
  }
  items.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  resolveExplicitHardlinks(items, byPath);
  return items;
}

// A tar hardlink must come after its target. When the caller's link sorts before its target, the
// first member of the group in archive order carries the content and the others link to it.
function resolveExplicitHardlinks(items: PlanItem[], byPath: Map<string, LayerEntry>): void {
  const groupTarget = new Map<string, LayerEntry>(); // final target path → target entry
  const firstOfGroup = new Map<string, string>(); // final target path → archive name carrying the content
  const targetOf = (item: PlanItem): string => {
    let target = item.linkname!;
    for (let hops = 0; ; hops++) {
      const t = byPath.get(target);
      if (!t) throw new UserError(`layer entry "${item.given}": hardlink target "${target}" is not a file of this layer`);
      if (t.type === 'file') { groupTarget.set(target, t); return target; }
      if (t.type !== 'hardlink' || hops > 64) throw new UserError(`layer entry "${item.given}": hardlink target "${target}" is a ${t.type}, expected a regular file`);
      target = imagePathComponents(t.linkname!, `hardlink target of "${t.path}"`).join('/');
    }
  };
  const hasLinks = items.some((i) => i.typeflag === '1');
  if (!hasLinks) return;
  const groupOf = new Map<PlanItem, string>();
  for (const item of items) if (item.typeflag === '1') groupOf.set(item, targetOf(item));
  for (const item of items) {
    if (item.typeflag === '0' && item.data && groupTarget.has(item.key)) groupOf.set(item, item.key);
  }
  for (const item of items) {
    const group = groupOf.get(item);
    if (group === undefined) continue;
    const first = firstOfGroup.get(group);
    if (first === undefined) {
      const target = groupTarget.get(group)!;
      firstOfGroup.set(group, item.name);
      item.typeflag = '0';
      item.meta = target;
      item.data = target;
      item.linkname = undefined;
    } else {
      item.typeflag = '1';
      item.linkname = first;
      item.data = undefined;
    }
  }
}

/** An opened source file. */
interface Prepared {
  size: number;
  linkKey?: string; // dev:ino when the file has other links
  bytes?: Buffer; // whole content of a small file
  handle?: number; // open fd of a large (or multiply linked) file
}

function prepare(item: PlanItem): Prepared | undefined {
  const data = item.data;
  if (!data) return undefined;
  if (data.source === undefined) {
    return { size: data.content?.length ?? 0, bytes: data.content };
  }
  let handle: number;
  try {
    handle = fs.openSync(data.source, 'r');
  } catch (err) {
    throw new UserError(`layer entry "${item.given}": cannot open source file ${data.source}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = fs.fstatSync(handle);
    if (!st.isFile()) throw new UserError(`layer entry "${item.given}": source ${data.source} is not a regular file`);
    const linkKey = st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
    if (st.size <= SMALL_FILE && linkKey === undefined) {
      const bytes = Buffer.allocUnsafe(st.size);
      let off = 0;
      while (off < st.size) {
        const n = fs.readSync(handle, bytes, off, st.size - off, off);
        if (n === 0) throw new UserError(`layer entry "${item.given}": source ${data.source} shrank while the layer was written`);
        off += n;
      }
      fs.closeSync(handle);
      return { size: st.size, bytes };
    }
    return { size: st.size, linkKey, handle };
  } catch (err) {
    try { fs.closeSync(handle); } catch { /* the error on its way matters more */ }
    throw err;
  }
}

/**
 * Read buffers for large files, reused once the bytes they carried are consumed downstream
 * (written to the file, or taken in by gzip). Why: a fresh 1 MiB buffer per read is garbage that
 * V8 frees only after ~32 MB of it piled up, and the allocator keeps those pages: a 200 MB COPY
 * peaked at 125-140 MB RSS.
 */
class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly lent: Array<{ buf: Buffer; end: number }> = [];
  private made = 0;
  private wake: (() => void) | undefined;

  /** `consumed()`: how many bytes of the uncompressed tar the last holder of a chunk is done with. */
  constructor(private readonly consumed: () => number) {}

  async take(): Promise<Buffer> {
    for (;;) {
      const c = this.consumed();
      while (this.lent.length > 0 && this.lent[0].end <= c) this.free.push(this.lent.shift()!.buf);
      const b = this.free.pop();
      if (b) return b;
      if (this.made < READ_BUFFERS) {
        this.made++;
        return Buffer.allocUnsafeSlow(CHUNK);
      }
      // progress() wakes us; the timer is a safety net for progress nobody reported
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.wake = undefined; resolve(); }, 5);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  /** `buf` went out carrying the tar up to offset `end`. */
  lend(buf: Buffer, end: number): void {
    this.lent.push({ buf, end });
  }

  progress(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** The layer file: fs.WriteStream plus a report of the bytes written (to recycle read buffers). */
class FileSink extends Writable {
  private handle: number | undefined;
  written = 0;

  /** `file` null: count the bytes and drop them (a layer only streamed to its tap) */
  constructor(private readonly file: string | null, private readonly onWritten: () => void) {
    super({ highWaterMark: CHUNK });
  }

  override _construct(cb: (err?: Error | null) => void): void {
    if (this.file === null) return cb();
    fd.open(this.file, 'w').then((h) => { this.handle = h; cb(); }, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const writing = this.handle === undefined ? Promise.resolve() : fd.writeAll(this.handle, chunk);
    writing.then(() => {
      this.written += chunk.length;
      this.onWritten();
      cb();
    }, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    const h = this.handle;
    this.handle = undefined;
    if (h === undefined) return cb();
    fd.close(h).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const h = this.handle;
    this.handle = undefined;
    if (h === undefined) return cb(err);
    fd.closeQuietly(h).then(() => cb(err));
  }
}

/** Pass chunks on and also write them to `side`, waiting for it (its backpressure counts too). */
function tee(side: Writable): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (side.destroyed) return cb(new Error('the layer tap closed early'));
      if (side.write(chunk)) return cb(null, chunk);
      // a tap that closes while full never drains: stop waiting then
      const onDrain = (): void => { side.off('close', onClose); cb(null, chunk); };
      const onClose = (): void => { side.off('drain', onDrain); cb(new Error('the layer tap closed early')); };
      side.once('drain', onDrain);
      side.once('close', onClose);
    },
    flush(cb) {
      // not side.end(cb): a tap destroyed while it finishes (the extraction failed on the last
      // chunks) may never call that back, and the layer write would hang
      if (side.destroyed) return cb(new Error('the layer tap closed early'));
      const onFinish = (): void => { side.off('close', onClose); cb(); };
      const onClose = (): void => { side.off('finish', onFinish); cb(side.writableFinished ? null : new Error('the layer tap closed early')); };
      side.once('finish', onFinish);
      side.once('close', onClose);
      side.end();
    },
  });
}

/**
 * Write `entries` as a layer tarball at `outFile`. Parent directories are not invented: what the
 * caller gives is what the layer holds. Two 'file' entries whose sources are the same host inode
 * become a file and a hardlink to it. `outFile` null: the layer is only streamed to `opts.tap`
 * (and hashed), e.g. to apply entries to a root without keeping a layer.
 */
export async function writeLayer(entries: readonly LayerEntry[], outFile: string | null, opts: WriteLayerOptions): Promise<LayerWriteResult> {
  if (opts.compression !== 'gzip' && opts.compression !== 'none') {
    throw new UserError(`layer compression "${String(opts.compression)}" is not supported: expected gzip or none (zstd needs Node 22.15+)`);
  }
  const items = planEntries(entries);
  const reproducible = opts.reproducible ?? false;
  const epochMs = opts.sourceDateEpoch !== undefined ? opts.sourceDateEpoch * 1000 : undefined;
  const preciseMtime = opts.preciseMtime ?? !reproducible;

  const mtimeOf = (e: LayerEntry): number => {
    if (reproducible) return epochMs ?? 0;
    const t = e.mtime.getTime();
    return epochMs !== undefined && t > epochMs ? epochMs : t;
  };

  let produced = 0; // bytes of the tar handed downstream
  let buffers: ReadBuffers | undefined; // set below, before the first read

  async function* tarStream(): AsyncGenerator<Buffer> {
    let open: Prepared | undefined; // a large file being read, closed on failure
    const linkFirst = new Map<string, string>();
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const add = (b: Buffer): void => { batch.push(b); batchBytes += b.length; };
    const flush = (): Buffer => { const out = batch.length === 1 ? batch[0] : Buffer.concat(batch, batchBytes); batch = []; batchBytes = 0; return out; };

    try {
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        const prep = prepare(item);
        open = prep;
        const e = item.meta;
        let typeflag = item.typeflag;
        let linkname = item.linkname;
        let size = 0;
        if (prep?.linkKey !== undefined) {
          const first = linkFirst.get(prep.linkKey);
          if (first !== undefined) {
            typeflag = '1';
            linkname = first;
            if (prep.handle !== undefined) await fd.close(prep.handle);
            prep.handle = undefined;
          } else {
            linkFirst.set(prep.linkKey, item.name);
          }
        }
        if (typeflag === '0' && prep) size = prep.size;
        add(encodeHeader({
          name: item.name, typeflag, mode: e.mode, uid: e.uid, gid: e.gid, size, mtimeMs: mtimeOf(e), preciseMtime,
          linkname, uname: reproducible ? '' : e.uname, gname: reproducible ? '' : e.gname,
          devmajor: typeflag === '3' || typeflag === '4' ? e.devmajor ?? 0 : 0,
          devminor: typeflag === '3' || typeflag === '4' ? e.devminor ?? 0 : 0,
          xattrs: e.xattrs ? Object.keys(e.xattrs).sort().map((k) => [k, Buffer.from(e.xattrs![k])] as [string, Buffer]) : undefined,
        }));
        if (size > 0 && prep) {
          if (prep.bytes) {
            add(prep.bytes);
          } else if (prep.handle !== undefined) {
            if (batchBytes > 0) { produced += batchBytes; yield flush(); }
            let pos = 0;
            try {
              while (pos < size) {
                const buf = buffers ? await buffers.take() : Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
                const want = Math.min(CHUNK, size - pos);
                const bytesRead = await fd.read(prep.handle, buf, 0, want, pos);
                if (bytesRead === 0) throw new UserError(`layer entry "${item.given}": source ${item.data?.source} shrank while the layer was written (expected ${size} bytes, got ${pos})`);
                pos += bytesRead;
                produced += bytesRead;
                buffers?.lend(buf, produced);
                yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
              }
            } finally {
              await fd.closeQuietly(prep.handle);
              prep.handle = undefined;
            }
          }
          const pad = paddingFor(size);
          if (pad) add(END_OF_ARCHIVE.subarray(0, pad));
        } else if (prep?.handle !== undefined) {
          await fd.close(prep.handle);
          prep.handle = undefined;
        }
        if (batchBytes >= BATCH) { produced += batchBytes; yield flush(); }
      }
      add(END_OF_ARCHIVE);
      produced += batchBytes;
      yield flush();
    } finally {
      // on failure (or when the consumer stops early), the file being written is still open
      if (open?.handle !== undefined) await fd.closeQuietly(open.handle);
    }
  }

  const uncompressed = new HashStream();
  const gzip = opts.compression === 'gzip' ? new ParallelGzip({ level: opts.level ?? DEFAULT_GZIP_LEVEL }) : undefined;
  const out = new FileSink(outFile, () => buffers?.progress());
  // a read buffer is free again once the uncompressed bytes it carried are written out or in gzip
  if (!opts.tap || opts.tapCopies) {
    buffers = new ReadBuffers(gzip ? () => gzip.bytesWritten : () => out.written);
    gzip?.on('drain', () => buffers?.progress());
  }
  const tar = Readable.from(tarStream(), { objectMode: false });
  const tapped: Transform[] = opts.tap ? [tee(opts.tap)] : [];
  try {
    if (gzip) {
      const compressed = new HashStream();
      await pipeline([tar, ...tapped, uncompressed, gzip, compressed, out]);
      return { digest: compressed.digest, size: compressed.bytes, diffId: uncompressed.digest, uncompressedSize: uncompressed.bytes };
    }
    await pipeline([tar, ...tapped, uncompressed, out]);
    return { digest: uncompressed.digest, size: uncompressed.bytes, diffId: uncompressed.digest, uncompressedSize: uncompressed.bytes };
  } catch (err) {
    opts.tap?.destroy(err as Error);
    // the sink's open may still be under way (the tar failed at once): remove the file after it
    if (!out.closed) await new Promise((resolve) => out.once('close', resolve).destroy());
    if (outFile !== null) await fs.promises.rm(outFile, { force: true }).catch(() => undefined);
    throw err;
  }
}
