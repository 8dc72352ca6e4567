// Secret redaction shared by every log line and every error message that leaves the process.
// Registered secrets are replaced wherever they appear; well-known secret shapes (Authorization
// headers, basic-auth URLs, JSON password fields, AWS keys, signed-URL query parameters) are
// replaced even when unregistered.

const known = new Set<string>();

/** Remember a secret value so that it is masked wherever it is printed later. */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4) return; // masking tiny strings would garble ordinary text
  known.add(value);
  // base64 forms travel in Basic headers and config.json "auth" fields
  known.add(Buffer.from(value).toString('base64'));
}

const MASK = '***';

const patterns: Array<[RegExp, string]> = [
  [/(authorization"?\s*[:=]\s*"?)(basic|bearer)\s+[^\s",]+/gi, `$1$2 ${MASK}`],
  [/((?:"|\b)(?:password|secret|token|access_token|identitytoken|registrytoken|auth|refresh_token|secretAccessKey|sessionToken|x-amz-security-token)"?\s*[:=]\s*"?)[^"\s,}&]+/gi, `$1${MASK}`],
  // environment-style names (\b does not match after '_'): AWS_SECRET_ACCESS_KEY=, GIT_TOKEN=, DB_PASSWORD=
  [/(\b[A-Z0-9_]*_(?:SECRET|TOKEN|PASSWORD)(?:_[A-Z0-9_]*)?"?\s*[:=]\s*"?)[^"\s,}&]+/g, `$1${MASK}`],
  // user:password@ in URLs; passwords may hold '/' and '@' (the last '@' of the word ends them),
  // but host:port/path@digest is no password
  [/(\/\/[^/:@\s]+:)(?!\d+(?:\/|\s|$))\S*@/g, `$1${MASK}@`],
  [/(X-Amz-Signature=|X-Amz-Credential=|X-Amz-Security-Token=)[^&\s"]+/g, `$1${MASK}`],
  // signed URLs that registries redirect blob downloads and uploads to carry their credentials in
  // the query: GCS (X-Goog-*, v2 Signature), Azure SAS (sig), CloudFront (Signature, Policy),
  // Alibaba OSS, Akamai (hdnts, hmac), plain token parameters
  [/([?&;](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|x-goog-security-token|x-oss-signature|x-oss-credential|x-oss-security-token|security-token|signature|sig|policy|hdnts|hmac|token|access_token|auth)=)[^&\s"'#<>]+/gi, `$1${MASK}`],
  [/(Signature=)[0-9a-f]{64}/g, `$1${MASK}`],
];

export function redact(text: string): string {
  let out = text;
  for (const s of known) {
    if (out.includes(s)) out = out.split(s).join(MASK);
    // the same secret as it appears inside a JSON string (quotes and backslashes escaped)
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s && out.includes(escaped)) out = out.split(escaped).join(MASK);
  }
  for (const [re, rep] of patterns) out = out.replace(re, rep);
  return out;
}

/** Redact the values of sensitive headers in a header object (for debug logging of requests). */
export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : v;
    out[k] = /^(authorization|proxy-authorization|x-amz-security-token|cookie|set-cookie)$/i.test(k) ? MASK : redact(value);
  }
  return out;
}
