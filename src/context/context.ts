// Turn any build-context source into a local directory. Remote and archived contexts are unpacked
// into the build's work dir; a local directory is used in place (never modified).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tarStream from 'tar-stream';
import { httpGet } from './http-get';
import { UserError, log } from '../log';

export interface BuildContext {
  /** the directory holding the context's files */
  dir: string;
  /** how the user named it, for messages */
  source: string;
}

export interface ContextDeps {
  /** s3:// fetcher (src/aws/s3.ts), injected so that this module needs no AWS code to load */
  s3Get?: (url: string) => Promise<{ body: Readable }>;
}

/**
 * `spec` forms (kaniko's): a directory, `dir://DIR`, `tar://FILE` (tar or tar.gz), a path ending in
 * .tar/.tar.gz/.tgz, `s3://bucket/path` (a .tar.gz object, or a prefix holding context.tar.gz),
 * `https://…` (a tar or tar.gz). `subPath` selects a sub-directory (--context-sub-path).
 */
export async function openContext(spec: string, workDir: string, subPath: string | undefined, deps: ContextDeps = {}): Promise<BuildContext> {
  let dir: string;
  if (spec.startsWith('s3://')) {
    if (!deps.s3Get) throw new UserError('s3:// build contexts need the AWS module, which failed to load');
    const url = /\.(tar|tar\.gz|tgz)$/.test(spec) ? spec : `${spec.replace(/\/$/, '')}/context.tar.gz`;
    log.info(`fetching build context ${url}`);
    const { body } = await deps.s3Get(url);
    dir = await unpackInto(body, path.join(workDir, 'context'), url);
  } else if (/^https?:\/\//.test(spec)) {
    if (/\.git(#.*)?$/.test(spec)) throw new UserError(`git build contexts are not supported: ${spec} (clone it in the pipeline and pass the directory)`);
    log.info(`fetching build context ${spec}`);
    const res = await httpGet(spec, 'build context');
    dir = await unpackInto(res.body, path.join(workDir, 'context'), spec);
  } else if (spec.startsWith('git://')) {
    throw new UserError(`git build contexts are not supported: ${spec} (clone it in the pipeline and pass the directory)`);
  } else {
    const local = spec.replace(/^(dir|tar):\/\//, '');
    let st: fs.Stats;
    try {
      st = fs.statSync(local);
    } catch {
      throw new UserError(`build context ${spec} does not exist`);
    }
    if (st.isDirectory()) {
      if (spec.startsWith('tar://')) throw new UserError(`build context ${spec}: expected a tar file, found a directory`);
      dir = path.resolve(local);
    } else {
      dir = await unpackInto(fs.createReadStream(local), path.join(workDir, 'context'), spec);
    }
  }
  if (subPath) {
    const sub = path.resolve(dir, subPath);
    if (!sub.startsWith(dir + path.sep) && sub !== dir) throw new UserError(`--context-sub-path ${subPath} leaves the build context`);
    if (!fs.existsSync(sub) || !fs.statSync(sub).isDirectory()) throw new UserError(`--context-sub-path ${subPath}: no such directory in the build context`);
    dir = sub;
  }
  return { dir, source: spec };
}

/** Unpack a tar or gzip'd tar stream into `dest` (regular files, dirs, symlinks; no escapes). */
async function unpackInto(input: Readable | NodeJS.ReadableStream, dest: string, what: string): Promise<string> {
  await fs.promises.mkdir(dest, { recursive: true });
  const src = input instanceof Readable ? input : Readable.from(input as AsyncIterable<Buffer>);
  const gz = await startsWithGzipMagic(src);
  const extract = tarStream.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const rel = path.posix.normalize(h.name).replace(/^(\.\/|\/)+/, '');
      const target = path.join(dest, rel);
      if (rel.startsWith('..') || (!target.startsWith(dest + path.sep) && target !== dest)) {
        entry.resume();
        throw new UserError(`build context ${what}: entry "${h.name}" points outside the context`);
      }
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      if (h.type === 'directory') {
        await fs.promises.mkdir(target, { recursive: true });
        entry.resume();
      } else if (h.type === 'symlink') {
        await fs.promises.rm(target, { force: true });
        await fs.promises.symlink(h.linkname ?? '', target);
        entry.resume();
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        await pipeline(entry, fs.createWriteStream(target, { mode: h.mode }));
        if (h.mode !== undefined) await fs.promises.chmod(target, h.mode & 0o7777);
      } else {
        entry.resume();
      }
    }
  })();
  const unpacked = gz ? pipeline(src, zlib.createGunzip(), extract) : pipeline(src, extract);
  await Promise.all([unpacked, done]).catch((e) => {
    if (e instanceof UserError) throw e;
    throw new UserError(`build context ${what}: not a readable tar${gz ? '.gz' : ''} archive (${(e as Error).message})`);
  });
  return dest;
}

/** Look at the first bytes without consuming them (they are pushed back with unshift). */
async function startsWithGzipMagic(src: Readable): Promise<boolean> {
  let chunk: Buffer | null = src.read();
  while (chunk === null && !src.readableEnded) {
    await new Promise<void>((resolve, reject) => {
      const done = () => { src.off('readable', done); src.off('end', done); src.off('error', fail); resolve(); };
      const fail = (e: Error) => { src.off('readable', done); src.off('end', done); reject(e); };
      src.once('readable', done); src.once('end', done); src.once('error', fail);
    });
    chunk = src.read();
  }
  if (!chunk) return false;
  src.unshift(chunk);
  return chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b;
}
