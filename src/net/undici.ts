// The part of undici we use (Agent, request, the redirect interceptor), loaded on first use from
// undici's own modules rather than its index. Why:
// - the index loads fetch, WebSocket, caches, mocks and cookies too: ~70-100 ms of every build that
//   talks to a registry, against ~25 ms for the dispatcher and the request API;
// - undici's cookie helpers read globalThis.Headers at load time, and that getter makes Node load
//   its internal undici and compile a second llhttp WebAssembly module (~35 MB of peak memory).
// undici 7 has no "exports" map, so its lib/ paths are reachable; test/unit/net/undici.test.ts
// checks that they still give what the index gives.
import type * as Undici from 'undici';

export interface SlimUndici {
  Agent: typeof Undici.Agent;
  request: typeof Undici.request;
  interceptors: { redirect: typeof Undici.interceptors.redirect };
}

let loaded: SlimUndici | undefined;
let fallback: Undici.Dispatcher | undefined;

export function undici(): SlimUndici {
  if (loaded) return loaded;
  keepWasmOnBaseline();
  const { Agent, redirect } = loadUndiciModules();
  loaded = { Agent, request: requestUrl as typeof Undici.request, interceptors: { redirect } };
  return loaded;
}

/**
 * Load (and wire) undici's modules, without touching V8's flags or compiling llhttp: what
 * undici() needs first, and what the startup snapshot (src/cli/startup-snapshot.ts) holds.
 */
export function loadUndiciModules(): { Agent: typeof Undici.Agent; redirect: typeof Undici.interceptors.redirect } {
  const Agent = require('undici/lib/dispatcher/agent') as typeof Undici.Agent;
  const Dispatcher = require('undici/lib/dispatcher/dispatcher') as { prototype: object };
  // what undici's index does: the API methods (request, stream, …) live on every dispatcher;
  // assigning them again (undici() after the snapshot) changes nothing
  Object.assign(Dispatcher.prototype, require('undici/lib/api'));
  const redirect = require('undici/lib/interceptor/redirect') as typeof Undici.interceptors.redirect;
  return { Agent, redirect };
}

/**
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 soon tiers its one big parser
 * function up to TurboFan, on a background thread that needs ~36 MB to do it: a third of a small
 * build's peak memory, for a parser that sees a few dozen responses (a layer's body bytes are
 * counted off, not parsed). Liftoff, the baseline compiler, is enough; the flag only changes how
 * WebAssembly compiled from now on is compiled, and llhttp is the only WebAssembly we load.
 */
function keepWasmOnBaseline(): void {
  if (process.env.DRYDOCK_WASM_TIER_UP === '1') return;
  (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--liftoff-only');
}

type RequestOptions = Partial<Undici.Dispatcher.RequestOptions> & { dispatcher?: Undici.Dispatcher };

/** undici's top-level `request(url, options)`: the URL split into origin and path for the dispatcher. */
function requestUrl(url: string | URL, opts: RequestOptions = {}): Promise<Undici.Dispatcher.ResponseData> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const { dispatcher, ...rest } = opts;
  const d = dispatcher ?? (fallback ??= (require('./agents') as typeof import('./agents')).newAgent());
  return d.request({
    ...rest,
    origin: u.origin,
    path: `${u.pathname}${u.search}`,
    method: rest.method ?? (rest.body ? 'PUT' : 'GET'),
  } as Undici.Dispatcher.RequestOptions);
}
