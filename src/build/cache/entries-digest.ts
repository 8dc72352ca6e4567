// The content digest of a planned COPY/ADD layer: what the layer will hold, computed from the
// entries before the tar is written. Files are hashed as streams (a bounded number at a time), so
// a 2 GB source costs I/O, not memory.
import { createHash } from 'node:crypto';
import { digestFile } from '../../fs/hash';
import { mapLimit } from '../../fs/limit';
import type { LayerEntry } from '../../fs/types';
import { UserError } from '../../log';
import { CacheKey } from './key';

/** Files hashed in parallel: enough to keep the disk busy, not enough to exhaust descriptors. */
const HASH_CONCURRENCY = 8;

async function contentDigest(e: LayerEntry): Promise<string | undefined> {
  if (e.type !== 'file') return undefined;
  if (e.content !== undefined) return 'sha256:' + createHash('sha256').update(e.content).digest('hex');
  if (e.source === undefined) return undefined;
  try {
    return (await digestFile(e.source)).digest;
  } catch (e2) {
    throw new UserError(`cannot read ${e.source} (source of /${e.path}) to compute its cache key: ${(e2 as Error).message}`);
  }
}

function xattrsOf(e: LayerEntry): Record<string, string> | undefined {
  if (!e.xattrs) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.xattrs)) out[k] = Buffer.isBuffer(v) ? `b64:${v.toString('base64')}` : `str:${v}`;
  return out;
}

/**
 * sha256 (hex) over the entries sorted by path: path, type, mode, uid, gid, link target, device
 * numbers, xattrs and the sha256 of each file's content. Times are left out on purpose (as kaniko
 * does): touching a file without changing it must still hit the cache.
 */
export async function digestEntries(entries: readonly LayerEntry[]): Promise<string> {
  // a stable sort: duplicate paths (if any) keep their relative order, which the writer honours
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const contents = await mapLimit(sorted, HASH_CONCURRENCY, contentDigest);
  const k = new CacheKey('layer-entries-v1');
  k.list('count', [String(sorted.length)]);
  sorted.forEach((e, i) => {
    k.bytes('path', e.path)
      .bytes('type', e.type)
      .bytes('mode', (e.mode & 0o7777).toString(8))
      .bytes('uid', String(e.uid))
      .bytes('gid', String(e.gid))
      .bytes('uname', e.uname)
      .bytes('gname', e.gname)
      .bytes('link', e.linkname)
      .bytes('dev', e.devmajor !== undefined || e.devminor !== undefined ? `${e.devmajor ?? 0},${e.devminor ?? 0}` : undefined)
      .map('xattrs', xattrsOf(e))
      .bytes('content', contents[i]);
  });
  return k.hex();
}
