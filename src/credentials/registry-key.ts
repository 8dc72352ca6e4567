// How a registry host is looked up in config.json, as Docker does it: keys may carry a scheme and
// a path ("https://index.docker.io/v1/", "http://host:5000/v2/"), and Docker Hub has several names.

export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function isDockerHub(host: string): boolean {
  return HUB_NAMES.has(host);
}

/** Docker's ConvertToHostname: drop the scheme and anything after the first "/". */
export function keyToHost(key: string): string {
  let h = key.trim();
  if (h.startsWith('http://')) h = h.slice(7);
  else if (h.startsWith('https://')) h = h.slice(8);
  const slash = h.indexOf('/');
  return slash >= 0 ? h.slice(0, slash) : h;
}

/** A registry as users write it (host, URL, Hub alias) → the host used for lookups. */
export function canonicalHost(registry: string): string {
  // kept here rather than imported from image/: credentials sits below image in the module map
  const h = keyToHost(registry.replace(/^[a-z]+:\/\//i, 'https://'));
  return isDockerHub(h) ? 'docker.io' : h;
}

/** The key Docker writes for a registry in config.json (Docker Hub keeps its historical URL). */
export function configKeyFor(registry: string): string {
  const h = canonicalHost(registry);
  return isDockerHub(h) ? DOCKER_HUB_KEY : h;
}

/** The server URL sent to a credential helper (what `docker login` would have stored). */
export function helperServerUrl(registry: string): string {
  return configKeyFor(registry);
}

/** Find the entry of `map` that names `registry`: exact key first, then by normalized host. */
export function findKey<T>(map: Record<string, T> | undefined, registry: string): string | undefined {
  if (!map) return undefined;
  const host = canonicalHost(registry);
  const hub = isDockerHub(host);
  const exact = [registry, host, configKeyFor(registry)];
  for (const k of exact) if (Object.prototype.hasOwnProperty.call(map, k)) return k;
  for (const k of Object.keys(map)) {
    const kh = keyToHost(k);
    if (kh === host || (hub && isDockerHub(kh))) return k;
  }
  return undefined;
}
