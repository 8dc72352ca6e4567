// Blobs of one build on local disk, by digest. A base layer is downloaded at most once, however
// many consumers (extraction, tarball, OCI layout) ask for it, and only when one asks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class BlobStore {
  private readonly inflight = new Map<string, Promise<string>>();
  /** downloads started ahead of their reader (startFetch), handed to the first one that asks */
  private readonly started = new Map<string, Promise<Readable>>();

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  pathOf(digest: string): string {
    return path.join(this.dir, digest.replace(':', '-'));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.pathOf(digest));
  }

  /**
   * Start downloading a blob that will be read soon (a base layer while its config is still being
   * fetched): the request goes out now, its body waits for the reader (openOrFetch or ensure).
   */
  startFetch(digest: string, fetch: () => Promise<Readable>): void {
    if (this.inflight.has(digest) || this.has(digest)) return;
    // started again (the registry that named it failed afterwards): the newer download wins
    this.started.get(digest)?.then((s) => s.destroy(), () => undefined);
    const p = fetch();
    p.catch(() => undefined); // the reader that takes it gets the error
    this.started.set(digest, p);
  }

  /** The download startFetch began, or a new one. */
  private fetchOnce(digest: string, fetch: () => Promise<Readable>): Promise<Readable> {
    const early = this.started.get(digest);
    if (!early) return fetch();
    this.started.delete(digest);
    return early;
  }

  /** Make sure the blob is on disk, fetching it with `fetch` (a verified stream) the first time. */
  ensure(digest: string, fetch: () => Promise<Readable>): Promise<string> {
    const file = this.pathOf(digest);
    if (fs.existsSync(file)) return Promise.resolve(file);
    let p = this.inflight.get(digest);
    if (!p) {
      p = (async () => {
        const tmp = `${file}.partial`;
        const out = fs.createWriteStream(tmp);
        try {
          await pipeline(await this.fetchOnce(digest, fetch), out);
          await fs.promises.rename(tmp, file);
          return file;
        } catch (e) {
          await removePartial(out, tmp);
          throw e;
        } finally {
          this.inflight.delete(digest);
        }
      })();
      this.inflight.set(digest, p);
    }
    return p;
  }

  /**
   * The blob as a stream. The first reader of a blob not yet on disk reads it as it arrives
   * while it is written to the store (a base layer is unpacked during its download); later
   * readers wait for the file.
   */
  async openOrFetch(digest: string, fetch: () => Promise<Readable>): Promise<Readable> {
    const file = this.pathOf(digest);
    if (fs.existsSync(file)) return fs.createReadStream(file);
    const running = this.inflight.get(digest);
    if (running) {
      await running;
      return fs.createReadStream(file);
    }
    const src = await this.fetchOnce(digest, fetch);
    const reader = new PassThrough({ highWaterMark: 1 << 20 });
    const tmp = `${file}.partial`;
    const out = fs.createWriteStream(tmp);
    const done = (async () => {
      try {
        // the file write paces the download; the reader gets every chunk as it passes
        await pipeline(src, new Transform({
          transform(chunk: Buffer, _e, cb) {
            if (reader.destroyed || reader.write(chunk)) cb(null, chunk);
            else reader.once('drain', () => cb(null, chunk));
          },
          flush(cb) {
            reader.end();
            cb();
          },
        }), out);
        await fs.promises.rename(tmp, file);
        return file;
      } catch (e) {
        reader.destroy(e as Error);
        await removePartial(out, tmp);
        throw e;
      } finally {
        this.inflight.delete(digest);
      }
    })();
    done.catch(() => undefined); // the reader sees the error
    this.inflight.set(digest, done);
    return reader;
  }

  /** A file already written under another name (a layer we built) becomes the blob `digest`. */
  async adopt(file: string, digest: string): Promise<string> {
    const dest = this.pathOf(digest);
    if (fs.existsSync(dest)) await fs.promises.rm(file, { force: true });
    else await fs.promises.rename(file, dest);
    return dest;
  }

  open(digest: string): Readable {
    return fs.createReadStream(this.pathOf(digest));
  }
}

/**
 * Remove a partial download once its file stream is closed: a stream destroyed while its file
 * was still being opened creates the file afterwards (a failed fetch left a .partial behind).
 */
async function removePartial(out: fs.WriteStream, tmp: string): Promise<void> {
  if (!out.closed) await new Promise<void>((resolve) => { out.once('close', () => resolve()); out.destroy(); });
  await fs.promises.rm(tmp, { force: true });
}
