// undici, loaded on first use (~80 ms that a build which never talks to a registry need not pay),
// and loaded without waking Node's own bundled copy: undici's cookie helpers read
// globalThis.Headers at load time, and that getter makes Node load its internal undici and compile
// a second llhttp WebAssembly module in the background (~35 MB of peak memory) that we never use.
let loaded: typeof import('undici') | undefined;

export function undici(): typeof import('undici') {
  if (!loaded) {
    const headers = Object.getOwnPropertyDescriptor(globalThis, 'Headers');
    if (headers?.configurable) Object.defineProperty(globalThis, 'Headers', { value: undefined, configurable: true, writable: true });
    try {
      loaded = require('undici') as typeof import('undici');
    } finally {
      if (headers?.configurable) Object.defineProperty(globalThis, 'Headers', headers);
    }
  }
  return loaded;
}
