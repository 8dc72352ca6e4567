// undici, required on first use rather than imported: loading it costs ~80 ms, which a build that
// never talks to a registry (FROM scratch, written to a tar or an OCI layout) should not pay.
// Registry builds load it at their first request instead.
export function undici(): typeof import('undici') {
  return require('undici') as typeof import('undici');
}
