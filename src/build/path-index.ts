// What paths a stage's layers hold, without unpacking them: built from the tar headers (contents
// are skipped) with OCI whiteouts applied. It answers COPY's and WORKDIR's "is this a directory?"
// for stages that never run a command, so those builds never write their base to disk.
import type { Readable } from 'node:stream';
import { decompressIfNeeded } from '../fs/extract';
import { readTar } from '../fs/tar-reader';
import { hostProgram } from './isolation/host-tools';
import type { LayerEntry } from '../fs/types';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../fs/types';

type Kind = 'dir' | 'symlink' | 'other';
interface Node { kind: Kind; link?: string }

const MAX_LINK_HOPS = 255;

const clean = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.').join('/');

export class PathIndex {
  private readonly nodes = new Map<string, Node>();

  /** Apply one layer (compressed or not), as extraction would: whiteouts first, then entries. */
  async addLayer(stream: Readable): Promise<void> {
    const adds: Array<[string, Node]> = [];
    const removals: string[] = [];
    const opaque: string[] = [];
    const tar = await decompressIfNeeded(stream, hostProgram('zstd'));
    try {
      for await (const entry of readTar(tar)) {
        const h = entry.header;
        const path = clean(h.name);
        if (path === '') continue;
        const slash = path.lastIndexOf('/');
        const dir = slash < 0 ? '' : path.slice(0, slash);
        const base = path.slice(slash + 1);
        if (base === OPAQUE_MARKER) opaque.push(dir);
        else if (base.startsWith(WHITEOUT_PREFIX)) removals.push(dir ? `${dir}/${base.slice(WHITEOUT_PREFIX.length)}` : base.slice(WHITEOUT_PREFIX.length));
        else adds.push([path, h.type === 'directory' ? { kind: 'dir' } : h.type === 'symlink' ? { kind: 'symlink', link: h.linkname ?? '' } : { kind: 'other' }]);
      }
    } finally {
      tar.destroy();
      stream.destroy();
    }
    for (const d of opaque) this.removeBelow(d);
    for (const r of removals) this.remove(r);
    for (const [p, n] of adds) this.set(p, n);
  }

  /** Entries known without reading the blob: our own layer's (COPY/ADD), or a layer's as unpacked. */
  addEntries(entries: ReadonlyArray<Pick<LayerEntry, 'path' | 'type' | 'linkname'>>): void {
    for (const e of entries) {
      const p = clean(e.path);
      if (e.type === 'whiteout') this.remove(p);
      else if (e.type === 'opaque') this.removeBelow(p);
    }
    for (const e of entries) {
      if (e.type === 'whiteout' || e.type === 'opaque') continue;
      this.set(clean(e.path), e.type === 'dir' ? { kind: 'dir' } : e.type === 'symlink' ? { kind: 'symlink', link: e.linkname ?? '' } : { kind: 'other' });
    }
  }

  /** Is `inImage` a directory, following symlinks inside the image (as a chrooted stat would)? */
  isDir(inImage: string): boolean {
    const r = this.walk(inImage);
    return r !== null && r.kind === 'dir';
  }

  /**
   * `inImage` with every symlink on the way followed inside the image, as a chrooted process would
   * resolve it; from the first component that does not exist (or is no directory) on, the rest is
   * kept as written. Links that loop leave the path as written.
   */
  resolve(inImage: string): string {
    const r = this.walk(inImage);
    return r === null ? '/' + clean(inImage) : '/' + r.path.join('/');
  }

  /** Follow `inImage` through the index: where it leads and what is there ('missing': not in it). null: links loop. */
  private walk(inImage: string): { path: string[]; kind: Kind | 'missing' } | null {
    const done: string[] = [];
    const todo = inImage.split('/').filter((c) => c !== '' && c !== '.');
    let hops = 0;
    let kind: Kind | 'missing' = 'dir'; // the root
    while (todo.length) {
      const name = todo.shift()!;
      if (name === '..') {
        done.pop();
        continue;
      }
      const n = this.nodes.get([...done, name].join('/'));
      if (!n || (n.kind === 'other' && todo.length > 0)) {
        for (const t of [name, ...todo]) if (t === '..') done.pop(); else done.push(t);
        return { path: done, kind: n ? 'other' : 'missing' };
      }
      if (n.kind === 'symlink') {
        if (++hops > MAX_LINK_HOPS) return null;
        if (n.link!.startsWith('/')) done.length = 0;
        todo.unshift(...n.link!.split('/').filter((c) => c !== '' && c !== '.'));
        continue;
      }
      kind = n.kind;
      done.push(name);
    }
    return { path: done, kind };
  }

  private set(p: string, n: Node): void {
    const old = this.nodes.get(p);
    if (old?.kind === 'dir' && n.kind !== 'dir') this.removeBelow(p);
    this.nodes.set(p, n);
    // tar may omit parents: they exist as directories all the same
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const parent = p.slice(0, i);
      if (this.nodes.get(parent)?.kind === 'dir') break;
      if (!this.nodes.has(parent)) this.nodes.set(parent, { kind: 'dir' });
    }
  }

  private remove(p: string): void {
    this.nodes.delete(p);
    this.removeBelow(p);
  }

  private removeBelow(dir: string): void {
    const prefix = dir === '' ? '' : dir + '/';
    for (const k of [...this.nodes.keys()]) if (k.startsWith(prefix) && k !== dir) this.nodes.delete(k);
  }
}
