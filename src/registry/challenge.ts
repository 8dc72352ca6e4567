// WWW-Authenticate parsing (RFC 7235): a header may hold several challenges, each a scheme with
// comma-separated auth-params whose quoted values can themselves contain commas
// (scope="repository:a:pull,push"), or a single token68. Registries are sloppier than the RFC:
// an unquoted value runs to the next comma (realm=http://h/auth, as go-containerregistry reads it)
// and empty list elements (",,") are skipped.

export interface Challenge {
  /** Lower-case scheme: "basic", "bearer", … */
  scheme: string;
  /** Lower-case parameter names → values (quotes and escapes removed). */
  params: Record<string, string>;
  token68?: string;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseChallenges(h));
  const s = header;
  const out: Challenge[] = [];
  let i = 0;
  const skipWs = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  const skipSeparators = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++; };
  const readToken = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(s);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  const readQuoted = (): string => {
    // s[i] is the opening quote
    i++;
    let v = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i++];
    }
    i++; // closing quote (or end of input for an unterminated value)
    return v;
  };
  const readUnquoted = (): string => {
    const end = s.indexOf(',', i);
    const v = s.slice(i, end < 0 ? s.length : end).trim();
    i = end < 0 ? s.length : end;
    return v;
  };

  while (i < s.length) {
    skipSeparators();
    const scheme = readToken();
    if (!scheme) {
      i++; // garbage character: skip rather than fail, servers are sloppy
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    skipWs();
    // token68 form: "Negotiate abc==" – a lone value followed by the end or a comma. "realm=x"
    // also matches the token68 characters but is followed by its value, so it is not one.
    TOKEN68.lastIndex = i;
    const t68 = TOKEN68.exec(s);
    if (t68) {
      let j = i + t68[0].length;
      while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
      if (j >= s.length || s[j] === ',') {
        challenge.token68 = t68[0];
        i = j;
        continue;
      }
    }
    // auth-params
    for (;;) {
      skipSeparators();
      const save = i;
      const name = readToken();
      if (!name) break;
      skipWs();
      if (s[i] !== '=') {
        i = save; // next challenge's scheme
        break;
      }
      i++;
      skipWs();
      const value = s[i] === '"' ? readQuoted() : readUnquoted();
      challenge.params[name.toLowerCase()] = value;
      skipWs();
      if (s[i] === ',') continue;
      break;
    }
  }
  return out;
}

/** The challenge we act on: Bearer over Basic (a registry that offers both prefers tokens). */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
