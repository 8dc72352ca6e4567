// Entry of `node --build-snapshot` (run by src/cli/make-snapshot.ts): load the modules a build uses
// into the heap, which V8 then saves as a startup snapshot. bin/launch starts node from it, so a
// command starts with its modules already compiled and run: ~70-100 ms of a small build's time.
//
// Node 20 runs the builder as a plain script (make-snapshot.ts wraps this file) whose require() knows only
// the built-in modules: user modules cannot go through Node's CommonJS loader here (a snapshot
// that did would fail an assertion when it starts). So this file has its own small CommonJS
// loader, which resolves with Node's resolver and compiles with vm.compileFunction as Node does,
// and which goes on loading whatever a command requires lazily after the snapshot started.
// A module must not keep process state from load time (the stream, env or cwd of the process
// that made the snapshot). Node 20 cannot put node:tls or node:http in a snapshot (its builder
// stops at an unknown native reference): node:tls loads where it is used, and undici gets a
// stand-in for node:http (below).
(() => {
  const Module = require('node:module') as typeof import('node:module');
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const vm = require('node:vm') as typeof import('node:vm');
  const v8 = require('node:v8') as typeof import('node:v8');
  const builtinRequire = require;

  interface LoadedModule {
    id: string;
    filename: string;
    exports: unknown;
    loaded: boolean;
    children: LoadedModule[];
    require?: NodeJS.Require;
    /** size and mtime when it was read: a snapshot of a changed file is stale */
    stamp: string;
  }

  // what Node's loader gives a module's import(): the default ESM loader (Node >= 20.12)
  const dynamicImport: unknown = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: unknown } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;

  const stampOf = (file: string): string => {
    try {
      const st = fs.statSync(file);
      // whole seconds: an image layer may keep no finer mtime for a copied package
      return `${st.size}:${Math.floor(st.mtimeMs / 1000)}`;
    } catch {
      return 'missing';
    }
  };

  class CommonJsLoader {
    /** filename → module, also each module's require.cache */
    private readonly modules: Record<string, LoadedModule> = Object.create(null);

    /** built-in modules to give in place of the real ones (only while the snapshot is made) */
    constructor(private readonly standIns = new Map<string, () => unknown>()) {}

    load(file: string, parent?: LoadedModule): any {
      const known = this.modules[file];
      if (known) return known.exports;
      const mod: LoadedModule = { id: file, filename: file, exports: {}, loaded: false, children: [], stamp: stampOf(file) };
      this.modules[file] = mod;
      parent?.children.push(mod);
      try {
        if (file.endsWith('.json')) {
          mod.exports = JSON.parse(fs.readFileSync(file, 'utf8'));
        } else if (file.endsWith('.node')) {
          process.dlopen(mod as unknown as { exports: unknown }, file);
        } else {
          const source = fs.readFileSync(file, 'utf8');
          const fn = vm.compileFunction(source.startsWith('#!') ? `//${source}` : source,
            ['exports', 'require', 'module', '__filename', '__dirname'],
            { filename: file, ...(dynamicImport ? { importModuleDynamically: dynamicImport as never } : {}) });
          mod.require = this.requireFor(mod);
          fn.call(mod.exports, mod.exports, mod.require, mod, file, path.dirname(file));
        }
      } catch (err) {
        delete this.modules[file]; // as Node does: the next require tries again
        throw err;
      }
      mod.loaded = true;
      return mod.exports;
    }

    /** Every module read still has the size and mtime it had then. */
    unchanged(): boolean {
      for (const m of Object.values(this.modules)) if (stampOf(m.filename) !== m.stamp) return false;
      return true;
    }

    get size(): number {
      return Object.keys(this.modules).length;
    }

    private requireFor(from: LoadedModule): NodeJS.Require {
      let resolver: NodeJS.Require | undefined;
      const resolve = (spec: string): string => (resolver ??= Module.createRequire(from.filename)).resolve(spec);
      const req = ((spec: string) => {
        if (Module.isBuiltin(spec)) return (this.standIns.get(spec.replace(/^node:/, '')) ?? (() => builtinRequire(spec)))();
        return this.load(resolve(spec), from);
      }) as NodeJS.Require;
      req.resolve = Object.assign(resolve, { paths: (spec: string) => (resolver ??= Module.createRequire(from.filename)).resolve.paths(spec) }) as NodeJS.RequireResolve;
      req.cache = this.modules as unknown as NodeJS.Require['cache'];
      req.main = undefined;
      return req;
    }
  }

  const cli = __dirname;
  const src = path.dirname(cli);
  // what a build loads, eagerly or on first use; agent/ and aws/ come only as others need them
  const preloadDirs = ['log', 'dockerfile', 'context', 'credentials', 'image', 'net', 'registry', 'fs', 'build'];
  const jsFiles = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return jsFiles(p);
    // a worker thread's script runs there, not here
    return e.name.endsWith('.js') && !e.name.endsWith('-thread.js') ? [p] : [];
  });

  // undici (~45 ms to load) needs node:http at load, for two things: IncomingMessage, only to
  // special-case destroying one (drydock never hands undici an http.IncomingMessage), and
  // maxHeaderSize, which it reads again for every client. So it loads here with a stand-in that
  // answers Node's default while the snapshot is made and reads the real module after. And it
  // tries node:http2, for HTTP/2 clients only: drydock never allows h2 (ALPN offers http/1.1), so
  // undici is told there is none, as it would be on a Node without it.
  // Node's default; a process started with --max-http-header-size (on the command line or in
  // NODE_OPTIONS) reads the real value, the others never load node:http (~5 ms) for it
  let making = true;
  const headerSizeSet = () => [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--max-http-header-size'));
  const httpStandIn = {
    IncomingMessage: class IncomingMessageStandIn {},
    get maxHeaderSize(): number {
      return making || !headerSizeSet() ? 16 * 1024 : (builtinRequire('node:http') as typeof import('node:http')).maxHeaderSize;
    },
  };
  const standIns = new Map<string, () => unknown>([
    ['http', () => httpStandIn],
    ['http2', () => { throw new Error('node:http2 is not in the startup snapshot'); }],
  ]);

  const loader = new CommonJsLoader(standIns);
  const startFile = path.join(cli, 'start.js');
  loader.load(startFile);
  for (const f of ['run-main.js', 'build.js', 'main.js']) loader.load(path.join(cli, f));
  for (const d of preloadDirs) for (const f of jsFiles(path.join(src, d)).sort()) loader.load(f);
  (loader.load(path.join(src, 'net', 'undici.js')) as typeof import('../net/undici')).loadUndiciModules();
  // what a build would load on first use: undici's llhttp (WebAssembly bytes, decoded from base64
  // at load), and Node's own modules behind performance, file streams and recursive removal
  loader.load(Module.createRequire(startFile).resolve('undici/lib/llhttp/llhttp_simd-wasm.js'));
  void globalThis.performance.now();
  void fs.ReadStream;
  // and what a build runs, compiled by a training run (the event loop runs it before V8 saves the
  // heap); a failed training fails the snapshot, as its leftovers would be in every process
  (loader.load(path.join(cli, 'snapshot-training.js')) as typeof import('./snapshot-training')).train().then(() => {
    standIns.clear(); // what loads from now on (at run time) gets the real modules
    making = false;
  }, (err: unknown) => {
    process.stderr.write(`snapshot training failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });

  // bin/launch runs `node --snapshot-blob BLOB .../start.js COMMAND ARGS`, as it would run start.js
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    const [here, ...argv] = process.argv.slice(1);
    const startHere = path.resolve(here);
    // moved, or a file changed since the snapshot was made (tsc ran, a dependency moved): load afresh
    const fresh = startHere === startFile && loader.unchanged();
    const use = fresh ? loader : new CommonJsLoader();
    const start = use.load(startHere) as typeof import('./start');
    start.start(argv, fresh ? `snapshot (${loader.size} modules)` : 'snapshot, stale: modules loaded afresh');
  });
})();
