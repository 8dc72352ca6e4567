// COPY/ADD --chmod: an octal mode, or (Dockerfile 1.14, BuildKit) a symbolic one as chmod(1)
// takes it, e.g. `+x`, `u+x,go-w`, `a=rX`, `g=u`, applied to each copied file's and directory's
// own mode. POSIX chmod semantics with a umask of 0 (as BuildKit applies them): a clause without
// who means all; X adds execute to directories and to files that have some execute bit already.
export type ModeChange = (mode: number, isDir: boolean) => number;

const CLAUSE = /^([ugoa]*)((?:[-+=](?:[rwxXst]*|[ugo]))+)$/;
const ACTION = /([-+=])([ugo]|[rwxXst]*)/g;

/** rwx bits and the special bit of each class */
const CLASS = { u: { rwx: 0o700, special: 0o4000 }, g: { rwx: 0o070, special: 0o2000 }, o: { rwx: 0o007, special: 0o1000 } } as const;

/** The ModeChange of a --chmod value; undefined when it is neither octal nor symbolic. */
export function parseModeChange(spec: string): ModeChange | undefined {
  if (/^[0-7]{3,4}$/.test(spec)) {
    const mode = parseInt(spec, 8);
    return () => mode;
  }
  const clauses = spec.split(',');
  const parsed: Array<{ who: Array<keyof typeof CLASS>; actions: Array<{ op: string; perms: string }> }> = [];
  for (const clause of clauses) {
    const m = CLAUSE.exec(clause);
    if (!m) return undefined;
    const letters = m[1].includes('a') || m[1] === '' ? 'ugo' : m[1];
    const who = [...new Set(letters.split(''))] as Array<keyof typeof CLASS>;
    const actions = [...m[2].matchAll(ACTION)].map((a) => ({ op: a[1], perms: a[2] }));
    parsed.push({ who, actions });
  }
  return (start, isDir) => {
    let mode = start & 0o7777;
    for (const { who, actions } of parsed) {
      for (const { op, perms } of actions) {
        let bits = 0;
        for (const cls of who) {
          const c = CLASS[cls];
          if (perms === 'u' || perms === 'g' || perms === 'o') {
            // copy another class's rwx into this one
            const from = (mode & CLASS[perms].rwx) >> (perms === 'u' ? 6 : perms === 'g' ? 3 : 0);
            bits |= from << (cls === 'u' ? 6 : cls === 'g' ? 3 : 0);
            continue;
          }
          for (const p of perms) {
            if (p === 'r') bits |= c.rwx & 0o444;
            else if (p === 'w') bits |= c.rwx & 0o222;
            else if (p === 'x' || (p === 'X' && (isDir || (mode & 0o111) !== 0))) bits |= c.rwx & 0o111;
            else if (p === 's' && cls !== 'o') bits |= c.special;
            else if (p === 't' && cls === 'o') bits |= c.special;
          }
        }
        const affected = who.reduce((acc, cls) => acc | CLASS[cls].rwx | CLASS[cls].special, 0);
        if (op === '+') mode |= bits;
        else if (op === '-') mode &= ~bits;
        else mode = (mode & ~affected) | bits;
      }
    }
    return mode;
  };
}

/** `mode` after `change` (--chmod), or as it is without one. */
export function applyMode(change: ModeChange | undefined, mode: number, isDir: boolean): number {
  return change ? change(mode, isDir) : mode;
}

/** A fixed mode as a ModeChange. */
export const fixedMode = (mode: number): ModeChange => () => mode;
