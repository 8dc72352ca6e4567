// COPY/ADD sources: which files of the context (or of another stage's root) a source pattern
// names, and the layer entries that copying them to a destination produces. Docker's rules:
// patterns use Go's filepath.Match per path component; a directory source copies its contents;
// several sources, a wildcard or a trailing '/' make the destination a directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../log';
import type { IgnoreMatcher } from '../context/dockerignore';
import { entriesFromDir, type ManyEntriesHint } from '../fs/walk';
import { hostPathInRoot } from '../fs/in-root';
import { applyMode, type ModeChange } from '../fs/mode-change';
import type { LayerEntry } from '../fs/types';

export interface SourceFilter {
  /** true when the context-relative path is excluded (.dockerignore) */
  excluded(rel: string, isDir: boolean): boolean;
  /** true when no path is excluded (no .dockerignore): a caller may skip asking */
  excludesNothing?: boolean;
}

const noFilter: SourceFilter = { excluded: () => false };

/** Go's filepath.Match for one path component: *, ?, [class], [^class], \escape. */
export function matchComponent(pattern: string, name: string): boolean {
  const re = globToRegExp(pattern);
  return re.test(name);
}

const reCache = new Map<string, RegExp>();

function badPattern(p: string, why: string): never {
  throw new UserError(`invalid pattern "${p}": ${why} (patterns follow Go's filepath.Match)`);
}

const classChar = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;

/** Compile a filepath.Match pattern, rejecting what Go rejects as ErrBadPattern. */
function globToRegExp(p: string): RegExp {
  let re = reCache.get(p);
  if (re) return re;
  const chars = [...p];
  let i = 0;
  const getEsc = (): string => {
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') badPattern(p, 'a character class needs a character here');
    if (chars[i] === '\\') {
      i++;
      if (i >= chars.length) badPattern(p, 'trailing backslash in a character class');
    }
    return chars[i++];
  };
  let out = '^';
  while (i < chars.length) {
    const c = chars[i++];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (i >= chars.length) badPattern(p, 'trailing backslash');
      out += escapeRe(chars[i++]);
    } else if (c === '[') {
      let negate = false;
      if (chars[i] === '^') { negate = true; i++; }
      const ranges: string[] = [];
      for (;;) {
        if (i >= chars.length) badPattern(p, 'unterminated [ character class');
        if (chars[i] === ']' && ranges.length > 0) { i++; break; }
        const lo = getEsc();
        let hi = lo;
        if (chars[i] === '-') { i++; hi = getEsc(); }
        ranges.push(lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`);
      }
      out += `[${negate ? '^/' : ''}${ranges.join('')}]`;
    } else out += escapeRe(c);
  }
  try {
    re = new RegExp(out + '$', 'u');
  } catch {
    badPattern(p, 'a character range is out of order');
  }
  reCache.set(p, re);
  return re;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
export const hasWildcard = (p: string) => /[*?[]/.test(p);

/** Clean a source path relative to its root; `..` cannot climb above the root (as Docker). */
export function cleanSourcePath(src: string): string {
  const parts: string[] = [];
  for (const part of src.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

/**
 * The root-relative paths a source names. A missing plain path or a pattern that matches nothing
 * is an error naming the source (Docker: "no source files were specified" / "not found").
 */
export function matchSources(root: string, source: string, filter: SourceFilter, where: string, rootName: string): string[] {
  const rel = cleanSourcePath(source);
  if (!hasWildcard(rel)) {
    const abs = inRoot(root, rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
    } catch {
      throw new UserError(`${where}: source "${source}" not found in ${rootName}`);
    }
    if (rel !== '' && filter.excluded(rel, st.isDirectory())) {
      throw new UserError(`${where}: source "${source}" is excluded by .dockerignore`);
    }
    return [rel];
  }
  const comps = rel.split('/');
  let current = [''];
  for (let i = 0; i < comps.length; i++) {
    const next: string[] = [];
    for (const base of current) {
      const dir = inRoot(root, base, true);
      if (!hasWildcard(comps[i])) {
        const cand = base ? `${base}/${comps[i]}` : comps[i];
        if (fs.existsSync(inRoot(root, cand, true))) next.push(cand);
        continue;
      }
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (matchComponent(comps[i], n)) next.push(base ? `${base}/${n}` : n);
    }
    current = next;
  }
  const kept = current.filter((r) => !filter.excluded(r, isDir(inRoot(root, r, true))));
  if (kept.length === 0) throw new UserError(`${where}: no source files were specified: "${source}" matches nothing in ${rootName}`);
  return kept;
}

/**
 * `COPY --parents`: the directory a source is relative to, and the pattern below it. The first
 * `/./` in a source is the pivot (`x/./y/*.txt` keeps `y/...`); without one the pattern is the
 * whole source, relative to the root.
 */
export function splitPivot(source: string): { base: string; pattern: string } {
  const i = source.indexOf('/./');
  if (i < 0) return { base: '', pattern: cleanSourcePath(source) };
  return { base: cleanSourcePath(source.slice(0, i)), pattern: cleanSourcePath(source.slice(i + 3)) };
}

/**
 * The base-relative paths a `COPY --parents` source names, as BuildKit's include patterns do:
 * Go's filepath.Match per component, and `**` for any number of components (none too). A path
 * without wildcards must exist; a pattern may match nothing. Symlinks to directories are not
 * followed; an excluded path (.dockerignore, --exclude) is left out.
 */
export function matchParentsSource(root: string, source: string, filter: SourceFilter, where: string, rootName: string): { base: string; rels: string[] } {
  const { base, pattern } = splitPivot(source);
  const under = (rel: string, followLast = false) => inRoot(root, base && rel ? `${base}/${rel}` : base || rel, followLast);
  if (!hasWildcard(pattern)) {
    const rel = pattern;
    if (!fs.existsSync(under(rel, true)) && !isSymlink(under(rel))) throw new UserError(`${where}: source "${source}" not found in ${rootName}`);
    const ctxRel = base && rel ? `${base}/${rel}` : base || rel;
    if (ctxRel !== '' && filter.excluded(ctxRel, isDir(under(rel, true)))) throw new UserError(`${where}: source "${source}" is excluded by .dockerignore`);
    return { base, rels: [rel] };
  }
  const comps = pattern.split('/');
  const found = new Set<string>();
  const join = (a: string, b: string) => (a ? `${a}/${b}` : b);
  const children = (rel: string): fs.Dirent[] => {
    try {
      return fs.readdirSync(under(rel, true), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return []; // not a directory, or gone
    }
  };
  const expand = (rel: string, i: number): void => {
    if (i === comps.length) {
      found.add(rel);
      return;
    }
    const comp = comps[i];
    if (comp === '**') {
      expand(rel, i + 1);
      for (const d of children(rel)) if (d.isDirectory()) expand(join(rel, d.name), i);
    } else if (!hasWildcard(comp)) {
      const cand = join(rel, comp);
      if (fs.existsSync(under(cand, true)) || isSymlink(under(cand))) expand(cand, i + 1);
    } else {
      for (const d of children(rel)) if (matchComponent(comp, d.name)) expand(join(rel, d.name), i + 1);
    }
  };
  expand('', 0);
  const rels = [...found].filter((rel) => rel !== '' && !filter.excluded(join(base, rel), isDir(under(rel, true))));
  // a match inside another match is copied with it
  const kept = rels.filter((rel) => !rels.some((other) => other !== rel && rel.startsWith(other + '/')));
  return { base, rels: kept };
}

/**
 * The host path of `rel` under a source root (the context, or a stage's or image's files), its
 * parents' symlinks followed inside that root as a chrooted process would: a link to `/` in a
 * builder stage must not make `COPY --from` read the host's files. The last component is not
 * followed (lstat semantics) unless `followLast`.
 */
function inRoot(root: string, rel: string, followLast = false): string {
  return hostPathInRoot(root, rel, { followLast });
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export interface CopyPlanOptions {
  root: string;
  rootName: string;
  sources: string[];
  /** absolute in-image destination (already joined with WORKDIR) */
  dest: string;
  /** the destination was written with a trailing '/' */
  destIsDir: boolean;
  /** the destination is an existing directory in the image (its owner and mode are kept) */
  destExistsAsDir: boolean;
  /** owner of the copies; undefined keeps the source's (COPY --from without --chown) */
  uid?: number;
  gid?: number;
  /** --chmod, applied to each copy's own mode */
  chmod?: ModeChange;
  filter?: SourceFilter;
  where: string;
  /** fixed mtime (reproducible builds); otherwise the source's */
  mtime?: Date;
  /** told when a source directory turns out to hold many entries */
  onManyEntries?: ManyEntriesHint;
  /** COPY --parents: each match keeps its path below the source's pivot (see splitPivot) */
  parents?: boolean;
  /**
   * COPY/ADD --exclude: matched against the paths inside each source directory (BuildKit's
   * fsutil), and against the names a wildcard source matched
   */
  exclude?: IgnoreMatcher;
}

/** The walk's verdict for `r` (relative to a source) under --exclude; undefined: not excluded. */
function excludedBy(m: IgnoreMatcher | undefined, r: string, dir: boolean): 'skip-dir' | 'exclude' | undefined {
  if (!m || !m.matches(r, dir)) return undefined;
  // an excluded directory is still read when a "!" pattern may take back something below it
  return dir && !m.mayHaveExceptionsUnder(r) ? 'skip-dir' : 'exclude';
}


/** Layer entries for a COPY: sources resolved, directories expanded, ownership and mode applied. */
export async function planCopy(o: CopyPlanOptions): Promise<LayerEntry[]> {
  if (o.parents) return planParentsCopy(o);
  const filter = o.filter ?? noFilter;
  const matched = o.sources.flatMap((s) => matchSources(o.root, s, filter, o.where, o.rootName)
    .filter((rel) => !(hasWildcard(s) && excludedBy(o.exclude, path.posix.basename(rel), false)))
    .map((rel) => ({ s, rel })));
  // a wildcard that matches one file copies it like a plain source (Docker, buildah, kaniko)
  const multi = matched.length > 1;
  const destRel = cleanSourcePath(o.dest);
  if (multi && !o.destIsDir && !o.destExistsAsDir) {
    throw new UserError(`${o.where}: when using COPY with more than one source file, the destination must be a directory and end with a /`);
  }
  const entries: LayerEntry[] = [];
  for (const { rel } of matched) {
    // a source named by the user that is a symlink is followed (inside the root), as Docker does;
    // links inside a copied directory stay links
    let abs = inRoot(o.root, rel);
    if (fs.lstatSync(abs).isSymbolicLink()) {
      const target = hostPathInRoot(o.root, rel);
      if (fs.existsSync(target)) abs = target;
    }
    const st = fs.lstatSync(abs);
    if (st.isDirectory()) {
      const sub = await entriesFromDir(abs, destRel, {
        uid: o.uid,
        gid: o.gid,
        chmod: o.chmod,
        mtime: o.mtime,
        includeRoot: false,
        onManyEntries: o.onManyEntries,
        filter: (r: string, dir: boolean) => excludedBy(o.exclude, r, dir)
          ?? (filter.excluded(rel ? `${rel}/${r}` : r, dir) ? (dir ? 'skip-dir' : 'exclude') : 'include'),
      });
      // the destination keeps its owner and mode when it exists; a new one is 0755 even with
      // --chmod, which applies to what is copied (buildah, BuildKit)
      if (!o.destExistsAsDir && destRel !== '') {
        sub.unshift({ path: destRel, type: 'dir', mode: 0o755, uid: o.uid ?? 0, gid: o.gid ?? 0, mtime: o.mtime ?? st.mtime });
      }
      entries.push(...sub);
    } else {
      const target = multi || o.destIsDir || o.destExistsAsDir ? path.posix.join(destRel, path.posix.basename(rel)) : destRel;
      if (target === '') throw new UserError(`${o.where}: cannot copy file "${rel}" onto the root directory`);
      entries.push(fileEntry(abs, st, target, o));
    }
  }
  return dedupe(entries);
}

/**
 * COPY --parents: every match lands at `dest/<its path below the pivot>`, the directories on the
 * way taken from the source (mode, owner, time) as BuildKit does; the destination is always a
 * directory. Matches are not followed when they are symlinks (BuildKit copies them as links).
 */
async function planParentsCopy(o: CopyPlanOptions): Promise<LayerEntry[]> {
  const filter = o.filter ?? noFilter;
  const destRel = cleanSourcePath(o.dest);
  const entries: LayerEntry[] = [];
  if (!o.destExistsAsDir && destRel !== '') {
    entries.push({ path: destRel, type: 'dir', mode: 0o755, uid: o.uid ?? 0, gid: o.gid ?? 0, mtime: o.mtime ?? fs.statSync(o.root).mtime });
  }
  const at = (rel: string) => (destRel && rel ? `${destRel}/${rel}` : destRel || rel);
  for (const s of o.sources) {
    const { base, rels } = matchParentsSource(o.root, s, filter, o.where, o.rootName);
    for (const rel of rels.filter((r) => !excludedBy(o.exclude, r, false))) {
      const parts = rel.split('/');
      for (let k = 1; k < parts.length; k++) {
        const dirRel = parts.slice(0, k).join('/');
        const st = fs.lstatSync(inRoot(o.root, base ? `${base}/${dirRel}` : dirRel));
        entries.push({ path: at(dirRel), type: 'dir', mode: applyMode(o.chmod, st.mode & 0o7777, true), uid: o.uid ?? st.uid, gid: o.gid ?? st.gid, mtime: o.mtime ?? st.mtime });
      }
      const abs = inRoot(o.root, base && rel ? `${base}/${rel}` : base || rel);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) {
        const ctxRel = base ? `${base}/${rel}` : rel;
        entries.push(...(await entriesFromDir(abs, at(rel), {
          uid: o.uid,
          gid: o.gid,
          chmod: o.chmod,
          mtime: o.mtime,
          includeRoot: rel !== '',
          onManyEntries: o.onManyEntries,
          // --exclude is matched below the pivot, as the copied paths are
          filter: (r: string, dir: boolean) => excludedBy(o.exclude, rel ? `${rel}/${r}` : r, dir)
            ?? (filter.excluded(ctxRel ? `${ctxRel}/${r}` : r, dir) ? (dir ? 'skip-dir' : 'exclude') : 'include'),
        })));
      } else {
        entries.push(fileEntry(abs, st, at(rel), o));
      }
    }
  }
  return dedupe(entries);
}

function fileEntry(abs: string, st: fs.Stats, target: string, o: CopyPlanOptions): LayerEntry {
  const base = { path: target, uid: o.uid ?? st.uid, gid: o.gid ?? st.gid, mtime: o.mtime ?? st.mtime };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: fs.readlinkSync(abs), mode: 0o777 };
  return { ...base, type: 'file', source: abs, size: st.size, mode: applyMode(o.chmod, st.mode & 0o7777, false) };
}

/** Later sources win over earlier ones for the same destination path (as a second copy would). */
function dedupe(entries: LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) byPath.set(e.path, e);
  return [...byPath.values()];
}
