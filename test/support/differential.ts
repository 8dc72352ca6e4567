// Differential comparison of two built images: the file trees that umoci unpacked and the
// image configs. Used to hold our executor's output against buildah's for the same Dockerfile.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** What must match for one path; mtimes are left out on purpose (builders stamp their own). */
export interface TreeEntry {
  type: EntryType;
  /** permission and special bits (setuid, setgid, sticky): mode & 0o7777 */
  mode: number;
  uid: number;
  gid: number;
  /** regular files */
  size?: number;
  sha256?: string;
  /** symlinks */
  target?: string;
  /** devices */
  rdev?: number;
  /** regular files with more than one link: every path of the group, sorted (inode numbers differ between unpacks) */
  hardlinks?: string[];
}

export type Tree = Map<string, TreeEntry>;

function typeOf(st: fs.Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** sha256 of a file, read in chunks so that large files never sit in memory. */
export function hashFile(file: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Every path under `root` (as "/a/b", root itself as "/") with what must match. */
export function readTree(root: string): Tree {
  const tree: Tree = new Map();
  const byInode = new Map<string, string[]>();
  const visit = (abs: string, rel: string) => {
    const st = fs.lstatSync(abs);
    const e: TreeEntry = { type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (e.type === 'file') {
      e.size = st.size;
      e.sha256 = hashFile(abs);
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        byInode.set(key, [...(byInode.get(key) ?? []), rel]);
      }
    } else if (e.type === 'symlink') {
      e.target = fs.readlinkSync(abs);
    } else if (e.type === 'char' || e.type === 'block') {
      e.rdev = st.rdev;
    }
    tree.set(rel, e);
    if (e.type === 'dir') {
      for (const name of fs.readdirSync(abs)) visit(path.join(abs, name), rel === '/' ? `/${name}` : `${rel}/${name}`);
    }
  };
  visit(root, '/');
  for (const group of byInode.values()) {
    if (group.length < 2) continue; // other links are outside the tree (cannot happen in an unpacked rootfs)
    const sorted = [...group].sort();
    for (const p of sorted) tree.get(p)!.hardlinks = sorted;
  }
  return tree;
}

const show = (v: unknown): string => (typeof v === 'number' ? `0${v.toString(8)}` : JSON.stringify(v));

/**
 * Differences between two trees as readable lines ("PATH: FIELD ours=X theirs=Y"), sorted by path.
 * `ignore(path, ours, theirs)` returns true for a difference that is known and benign; every
 * caller must say why next to the rule.
 */
export function diffTrees(
  ours: Tree,
  theirs: Tree,
  ignore: (p: string, ours: TreeEntry | undefined, theirs: TreeEntry | undefined) => boolean = () => false,
  names: [string, string] = ['ours', 'buildah'],
): string[] {
  const out: string[] = [];
  const paths = [...new Set([...ours.keys(), ...theirs.keys()])].sort();
  for (const p of paths) {
    const a = ours.get(p);
    const b = theirs.get(p);
    if (ignore(p, a, b)) continue;
    if (!a || !b) {
      const e = (a ?? b)!;
      out.push(`${p}: only in ${a ? names[0] : names[1]} (${e.type}${e.target ? ` -> ${e.target}` : ''})`);
      continue;
    }
    for (const f of ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target', 'rdev'] as const) {
      if (a[f] !== b[f]) out.push(`${p}: ${f} ${names[0]}=${show(a[f])} ${names[1]}=${show(b[f])}`);
    }
    const ha = a.hardlinks?.join(',') ?? '';
    const hb = b.hardlinks?.join(',') ?? '';
    if (ha !== hb) out.push(`${p}: hardlinks ${names[0]}=[${ha}] ${names[1]}=[${hb}]`);
  }
  return out;
}

/** The config fields a Dockerfile controls, as the brief and Docker's image spec name them. */
export const CONFIG_FIELDS = [
  'Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes',
  'StopSignal', 'Healthcheck', 'Shell', 'OnBuild',
] as const;

/** Empty lists and maps mean "unset" for every consumer (Docker, podman): compare them as absent. */
function normalize(v: unknown): unknown {
  if (v === null || v === undefined || v === '') return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object);
    if (keys.length === 0) return undefined;
    return Object.fromEntries(keys.sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  }
  return v;
}

/** The Dockerfile-controlled part of an image config (`config` object of the image config JSON). */
export function pickConfig(config: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS) {
    const v = normalize(config?.[f]);
    if (v !== undefined) out[f] = v;
  }
  return out;
}

/** Field-by-field differences between two picked configs. */
export function diffConfigs(ours: Record<string, unknown>, theirs: Record<string, unknown>, names: [string, string] = ['ours', 'buildah']): string[] {
  const out: string[] = [];
  for (const f of CONFIG_FIELDS) {
    const a = JSON.stringify(ours[f]);
    const b = JSON.stringify(theirs[f]);
    if (a !== b) out.push(`config.${f}: ${names[0]}=${a} ${names[1]}=${b}`);
  }
  return out;
}

/** The image config JSON of tag `tag` in an OCI image layout. */
export function readLayoutImageConfig(layoutDir: string, tag: string): any {
  const blob = (digest: string) => path.join(layoutDir, 'blobs', ...digest.split(':'));
  const index = JSON.parse(fs.readFileSync(path.join(layoutDir, 'index.json'), 'utf8'));
  const desc = (index.manifests ?? []).find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!desc) throw new Error(`${layoutDir}: no manifest tagged "${tag}" in index.json`);
  const manifest = JSON.parse(fs.readFileSync(blob(desc.digest), 'utf8'));
  if (!manifest.config) throw new Error(`${layoutDir}: ${tag} is not an image manifest (no config)`);
  return JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8'));
}
