// remoting versions are "4.13.3" (old) or "3283.v92c105e0f819" (incremental, since 2021): the
// leading dot-separated numbers order them; the commit-hash part carries no order.

function numericParts(v: string): number[] {
  const out: number[] = [];
  for (const part of v.trim().split('.')) {
    const m = /^(\d+)/.exec(part);
    if (!m) break;
    out.push(Number(m[1]));
    if (m[1].length !== part.length) break;
  }
  return out;
}

/** <0 when a is older than b, 0 when equal in their numbers, >0 when newer. */
export function compareRemotingVersions(a: string, b: string): number {
  const x = numericParts(a);
  const y = numericParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
