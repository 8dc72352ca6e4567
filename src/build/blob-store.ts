// Blobs of one build on local disk, by digest. A base layer is downloaded at most once, however
// many consumers (extraction, tarball, OCI layout) ask for it, and only when one asks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class BlobStore {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  pathOf(digest: string): string {
    return path.join(this.dir, digest.replace(':', '-'));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.pathOf(digest));
  }

  /** Make sure the blob is on disk, fetching it with `fetch` (a verified stream) the first time. */
  ensure(digest: string, fetch: () => Promise<Readable>): Promise<string> {
    const file = this.pathOf(digest);
    if (fs.existsSync(file)) return Promise.resolve(file);
    let p = this.inflight.get(digest);
    if (!p) {
      p = (async () => {
        const tmp = `${file}.partial`;
        try {
          await pipeline(await fetch(), fs.createWriteStream(tmp));
          await fs.promises.rename(tmp, file);
          return file;
        } catch (e) {
          await fs.promises.rm(tmp, { force: true });
          throw e;
        } finally {
          this.inflight.delete(digest);
        }
      })();
      this.inflight.set(digest, p);
    }
    return p;
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
