// A minimal OCI image layout store (image-spec layout.md) for the caches: blobs by digest, and
// index.json entries found by their ref name annotation. Blobs are written to a unique temporary
// name, verified, then renamed; index.json is replaced atomically. Its read-modify-write runs
// under a lock file (index.json.lock, see file-lock.ts), so builds in several processes sharing
// one layout keep every entry; writers in one process are also queued.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError, SizeMismatchError, parseDigest, verifyingStream } from '../../image/digest';
import type { Descriptor, ImageIndex } from '../../image/manifest';
import { OCI_INDEX } from '../../image/mediatypes';
import { UserError } from '../../log';
import { withFileLock, type FileLockOptions } from './file-lock';

export const REF_NAME = 'org.opencontainers.image.ref.name';

let tmpSeq = 0;
const tmpName = (p: string) => `${p}.tmp-${process.pid}-${++tmpSeq}`;

function sizeOf(p: string): number | undefined {
  try {
    return fs.statSync(p).size;
  } catch {
    return undefined;
  }
}

function sameBytes(p: string, body: Buffer): boolean {
  if (sizeOf(p) !== body.length) return false;
  try {
    return fs.readFileSync(p).equals(body);
  } catch {
    return false;
  }
}

export class LayoutStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string, private readonly lock: FileLockOptions = {}) {}

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest, `blob digest in OCI layout ${this.dir}`);
    return path.join(this.dir, 'blobs', algorithm, hex);
  }

  hasBlob(digest: string): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  /** The blob as a stream that fails if the file does not match `d` (a damaged cache is a miss, not a bad image). */
  openBlob(d: Descriptor): Readable {
    const src = fs.createReadStream(this.blobPath(d.digest));
    const check = verifyingStream(d.digest, d.size, `blob ${d.digest} in ${this.dir}`);
    src.on('error', (e) => check.destroy(e));
    return src.pipe(check);
  }

  /**
   * Why the blob on disk is not `d` ("missing", wrong size, digest mismatch), or undefined when it
   * is. The size is checked first (a stat); only then is the file read whole and hashed.
   */
  async checkBlob(d: Descriptor): Promise<string | undefined> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(this.blobPath(d.digest));
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message;
    }
    if (!st.isFile()) return 'not a regular file';
    if (st.size !== d.size) return `${st.size} bytes, expected ${d.size}`;
    try {
      await pipeline(this.openBlob(d), new Writable({ write: (_c, _e, cb) => cb() }));
      return undefined;
    } catch (e) {
      if (e instanceof DigestMismatchError) return `its content hashes to ${e.actual}`;
      if (e instanceof SizeMismatchError) return `${e.actualSize} bytes, expected ${e.expectedSize}`;
      return (e as Error).message;
    }
  }

  /**
   * Remove a damaged blob so that the next store writes it again. Best effort (the directory may be
   * read-only to this build): returns whether it is gone.
   */
  async discardBlob(digest: string): Promise<boolean> {
    try {
      await fs.promises.rm(this.blobPath(digest), { force: true });
      return true;
    } catch {
      return false;
    }
  }

  /** A small blob (manifest, config) read whole and verified. */
  async readBlob(d: Descriptor, limit = 16 * 1024 * 1024): Promise<Buffer> {
    if (d.size > limit) throw new UserError(`blob ${d.digest} in OCI layout ${this.dir} is ${d.size} bytes, more than the ${limit} expected for a manifest or config`);
    const chunks: Buffer[] = [];
    for await (const c of this.openBlob(d)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Write a small blob; one already there is kept only when it holds exactly `body` (a damaged one is replaced). */
  async writeBlobBytes(digest: string, body: Buffer): Promise<void> {
    const p = this.blobPath(digest);
    if (sameBytes(p, body)) return;
    await fs.promises.mkdir(path.dirname(p), { recursive: true });
    const tmp = tmpName(p);
    await fs.promises.writeFile(tmp, body);
    await fs.promises.rename(tmp, p);
  }

  /**
   * Copy a stream in as blob `d`, verified against the descriptor; skipped when a blob of the right
   * size exists, unless `overwrite` (a same-size damaged blob is found by checkBlob on lookup).
   */
  async writeBlobStream(d: Descriptor, open: () => Promise<NodeJS.ReadableStream>, overwrite = false): Promise<void> {
    const p = this.blobPath(d.digest);
    if (!overwrite && sizeOf(p) === d.size) return;
    await fs.promises.mkdir(path.dirname(p), { recursive: true });
    const tmp = tmpName(p);
    try {
      await pipeline(await open(), verifyingStream(d.digest, d.size, `blob ${d.digest} written to ${this.dir}`), fs.createWriteStream(tmp));
      await fs.promises.rename(tmp, p);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
  }

  readIndex(): ImageIndex {
    const file = path.join(this.dir, 'index.json');
    if (!fs.existsSync(file)) return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    let doc: ImageIndex;
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8')) as ImageIndex;
    } catch (e) {
      throw new UserError(`${file}: not a valid OCI image index (${(e as Error).message})`);
    }
    if (!doc || !Array.isArray(doc.manifests)) throw new UserError(`${file}: not a valid OCI image index (no "manifests" array)`);
    return doc;
  }

  /** Index entries carrying `refName`. */
  find(refName: string): Descriptor[] {
    return this.readIndex().manifests.filter((m) => m.annotations?.[REF_NAME] === refName);
  }

  /**
   * Add `desc` to index.json, first dropping the entries `replaces` selects. Serialized per store
   * and across processes (a lock file, waited for a bounded time: an error says who holds it),
   * written atomically.
   */
  updateIndex(desc: Descriptor, replaces: (m: Descriptor) => boolean): Promise<void> {
    const next = this.queue.then(async () => {
      await fs.promises.mkdir(this.dir, { recursive: true });
      const layoutFile = path.join(this.dir, 'oci-layout');
      if (!fs.existsSync(layoutFile)) await fs.promises.writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      const file = path.join(this.dir, 'index.json');
      await withFileLock(`${file}.lock`, `updating ${file}`, async () => {
        const index = this.readIndex();
        index.manifests = [...index.manifests.filter((m) => !replaces(m)), desc];
        const tmp = tmpName(file);
        await fs.promises.writeFile(tmp, JSON.stringify(index));
        await fs.promises.rename(tmp, file);
      }, this.lock);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
