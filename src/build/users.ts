// User and group names → numeric ids, read from a stage's own /etc/passwd and /etc/group (never
// the host's), as Docker does for USER and COPY --chown.
import * as fs from 'node:fs';
import { hostPathInRoot } from '../fs/in-root';
import { UserError } from '../log';

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

/** Lines of a file inside the root; a missing file or a link loop reads as empty. */
function readLines(root: string, inImage: string): string[] {
  try {
    return fs.readFileSync(hostPathInRoot(root, inImage), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  } catch {
    return [];
  }
}

export function readPasswd(root: string): PasswdEntry[] {
  return readLines(root, '/etc/passwd').map((l) => {
    const f = l.split(':');
    return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
  }).filter((e) => Number.isInteger(e.uid) && Number.isInteger(e.gid));
}

export function readGroups(root: string): GroupEntry[] {
  return readLines(root, '/etc/group').map((l) => {
    const f = l.split(':');
    return { name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) };
  }).filter((e) => Number.isInteger(e.gid));
}

const isNumeric = (s: string) => /^\d+$/.test(s);

export interface ResolvedUser { uid: number; gid: number; groups: number[]; home: string }

/**
 * USER semantics: "name", "uid", "name:group", "uid:gid". A name must exist in the stage's
 * /etc/passwd; a numeric uid need not. Supplementary groups come from /etc/group, unless a
 * group is named.
 */
export function resolveUser(root: string | null, spec: string, where: string): ResolvedUser {
  const [user, group] = spec.split(':', 2);
  const passwd = root ? readPasswd(root) : [];
  let uid: number;
  let gid: number;
  let home = '/';
  let name: string | undefined;
  const byName = passwd.find((p) => p.name === user);
  if (isNumeric(user)) {
    uid = Number(user);
    const e = passwd.find((p) => p.uid === uid);
    gid = e ? e.gid : 0;
    home = e?.home ?? '/';
    name = e?.name;
  } else if (byName) {
    uid = byName.uid;
    gid = byName.gid;
    home = byName.home;
    name = byName.name;
  } else {
    throw new UserError(`${where}: unable to find user ${user}: no matching entries in the image's /etc/passwd`);
  }
  // an explicit group is the step's only one: /etc/group's memberships count only without it
  // (runc's GetExecUser, which BuildKit and Docker use; buildah too)
  if (group !== undefined && group !== '') {
    const named = resolveGroup(root, group, where);
    return { uid, gid: named, groups: [named], home };
  }
  const groups = root && name ? readGroups(root).filter((g) => g.members.includes(name as string)).map((g) => g.gid) : [];
  return { uid, gid, groups: [...new Set([gid, ...groups])], home };
}

export function resolveGroup(root: string | null, group: string, where: string): number {
  if (isNumeric(group)) return Number(group);
  const g = (root ? readGroups(root) : []).find((e) => e.name === group);
  if (!g) throw new UserError(`${where}: unable to find group ${group}: no matching entries in the image's /etc/group`);
  return g.gid;
}

/**
 * The owner that `--chown=SPEC` (and WORKDIR under USER) gives, as BuildKit resolves it: a user
 * name takes its uid and primary group from the image's /etc/passwd, a bare uid is also the gid,
 * and a group after ':' (name or number) replaces the gid. `what` names the setting in errors.
 */
export function resolveChown(root: string | null, spec: string, where: string, what = `--chown=${spec}`): { uid: number; gid: number } {
  const [user, group] = spec.split(':', 2);
  let uid: number;
  let gid: number;
  if (isNumeric(user)) uid = gid = Number(user);
  else {
    const e = (root ? readPasswd(root) : []).find((p) => p.name === user);
    if (!e) throw new UserError(`${where}: ${what}: unable to find user ${user} in the image's /etc/passwd`);
    uid = e.uid;
    gid = e.gid;
  }
  if (group !== undefined && group !== '') gid = resolveGroup(root, group, `${where}: ${what}`);
  return { uid, gid };
}

/** Does this --chown / USER spec need the image's files (a name rather than numbers)? */
export function needsNameLookup(spec: string): boolean {
  return spec.split(':').some((p) => p !== '' && !isNumeric(p));
}
