// Turn any build-context source into a local directory. Remote and archived contexts are unpacked
// into the build's work dir; a local directory is used in place (never modified).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { extractLayer } from '../fs/extract';
import { checkoutGit, kanikoGitSource, parseGitSource } from './git-source';
import { httpGet } from './http-get';
import { UserError, log, redact } from '../log';

export interface BuildContext {
  /** the directory holding the context's files */
  dir: string;
  /** how the user named it, for messages */
  source: string;
}

export interface ContextDeps {
  /** s3:// fetcher (src/aws/s3.ts), injected so that this module needs no AWS code to load */
  s3Get?: (url: string) => Promise<{ body: Readable }>;
  /** the host's git program, for git contexts */
  git?: string;
  /** kaniko's --git options: branch=,single-branch=,recurse-submodules=,insecure-skip-tls=,depth= */
  gitOptions?: string;
  env?: NodeJS.ProcessEnv;
  /** what `tar://stdin` reads (process.stdin) */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/**
 * `spec` forms (kaniko's): a directory, `dir://DIR`, `tar://FILE` (tar or tar.gz), a path ending in
 * .tar/.tar.gz/.tgz, `s3://bucket/path` (a .tar.gz object, or a prefix holding context.tar.gz),
 * `https://…` (a tar or tar.gz), `tar://stdin` (a tar or tar.gz piped in, as kaniko reads it).
 * `subPath` selects a sub-directory (--context-sub-path).
 */
export async function openContext(spec: string, workDir: string, subPath: string | undefined, deps: ContextDeps = {}): Promise<BuildContext> {
  let dir: string;
  if (spec.startsWith('s3://')) {
    if (!deps.s3Get) throw new UserError('s3:// build contexts need the AWS module, which failed to load');
    const url = /\.(tar|tar\.gz|tgz)$/.test(spec) ? spec : `${spec.replace(/\/$/, '')}/context.tar.gz`;
    log.info(`fetching build context ${url}`);
    const { body } = await deps.s3Get(url);
    dir = await unpackInto(body, path.join(workDir, 'context'), url);
  } else if (spec.startsWith('git://') || (/^https?:\/\//.test(spec) && parseGitSource(spec))) {
    dir = await gitContext(spec, path.join(workDir, 'context'), deps);
  } else if (spec === 'tar://stdin') {
    const stdin = deps.stdin ?? process.stdin;
    if (stdin.isTTY) throw new UserError('build context tar://stdin: standard input is a terminal: pipe a tar or tar.gz archive of the context into the executor');
    let bytes = 0;
    const counted = Readable.from((async function* () {
      for await (const chunk of stdin) {
        bytes += (chunk as Buffer).length;
        yield chunk;
      }
    })());
    dir = await unpackInto(counted, path.join(workDir, 'context'), 'tar://stdin');
    if (bytes === 0) throw new UserError('build context tar://stdin: standard input was empty: pipe a tar or tar.gz archive of the context into the executor');
  } else if (/^https?:\/\//.test(spec)) {
    log.info(`fetching build context ${spec}`);
    const res = await httpGet(spec, 'build context');
    dir = await unpackInto(res.body, path.join(workDir, 'context'), spec);
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

/**
 * A git repository as the context: kaniko's `git://…` form (see kanikoGitSource; the checkout
 * keeps its .git, as kaniko's clone does) or BuildKit's `https://HOST/PATH.git[#REF[:SUBDIR]]`
 * (without .git, as BuildKit does).
 */
async function gitContext(spec: string, dest: string, deps: ContextDeps): Promise<string> {
  if (!deps.git) throw new UserError(`build context ${redact(spec)}: a git context needs git on this host, and there is none on PATH`);
  const kaniko = spec.startsWith('git://');
  const src = kaniko ? kanikoGitSource(spec, deps.env ?? process.env, deps.gitOptions) : parseGitSource(spec)!;
  log.info(`fetching build context ${redact(src.remote)}${src.ref ? ` at ${src.ref}` : ''}${src.commit ? `, commit ${src.commit}` : ''}`);
  const co = await checkoutGit(deps.git, src, dest, 'build context', kaniko);
  log.info(`build context: ${redact(src.remote)} at commit ${co.commit}`);
  return co.dir;
}

/**
 * Unpack a tar or gzip'd tar stream into `dest` with the layer extractor's path safety: links in
 * the archive can never make a later entry land outside the context directory.
 */
async function unpackInto(input: Readable | NodeJS.ReadableStream, dest: string, what: string): Promise<string> {
  await fs.promises.mkdir(dest, { recursive: true });
  const src = input instanceof Readable ? input : Readable.from(input as AsyncIterable<Buffer>);
  try {
    await extractLayer(src, dest, { preserveOwnership: false, layerName: `build context ${what}` });
  } catch (e) {
    const msg = (e as Error).message;
    if (/climbs out|outside/.test(msg)) throw new UserError(`build context ${what}: an entry points outside the context: ${msg.replace(/^.*?: (entry|path)/, '$1')}`);
    if (e instanceof UserError && !/tar header|unexpected end|incorrect header|invalid/i.test(msg)) throw e;
    throw new UserError(`build context ${what}: not a readable tar or tar.gz archive (${msg.replace(/^cannot extract layer [^:]*: /, '')})`);
  }
  return dest;
}
