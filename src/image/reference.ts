// Image references ("busybox", "127.0.0.1:5000/team/app:1.0", "repo@sha256:…") parsed with the
// normalization Docker applies (github.com/distribution/reference), so that a name means the same
// image here as in `docker pull`.
import { UserError } from '../log';
import { digestProblem } from './digest';

export const DOCKER_HUB = 'docker.io';
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'docker.io']);

// Grammar pieces from distribution/reference/regexp.go.
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_RE = new RegExp(`^(?:${ipv6}|${domainComponent}(?:\\.${domainComponent})*)(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const NAME_MAX = 255;

export class Reference {
  constructor(
    /** Registry host, normalized: "docker.io" for Docker Hub, otherwise host[:port] as written. */
    readonly registry: string,
    /** Repository path inside the registry, e.g. "library/busybox". */
    readonly repository: string,
    readonly tag?: string,
    readonly digest?: string,
  ) {}

  /** registry/repository, without tag or digest. */
  name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** Full form: registry/repository[:tag][@digest]. */
  toString(): string {
    return this.name() + (this.tag ? `:${this.tag}` : '') + (this.digest ? `@${this.digest}` : '');
  }

  /** What the registry API is asked for: the digest when known (immutable), else the tag. */
  identifier(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  withTag(tag: string): Reference {
    if (!TAG_RE.test(tag)) throw new UserError(`invalid tag "${tag}" for ${this.name()}: expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    return new Reference(this.registry, this.repository, tag, undefined);
  }

  withDigest(digest: string): Reference {
    const problem = digestProblem(digest);
    if (problem) throw new UserError(`invalid digest "${digest}" for ${this.name()}: ${problem}`);
    return new Reference(this.registry, this.repository, this.tag, digest);
  }

  /** Same repository, other repository path (e.g. a mount source on the same registry). */
  withRepository(repository: string): Reference {
    return parseReference(`${this.registry}/${repository}`);
  }
}

function bad(ref: string, why: string): UserError {
  return new UserError(`invalid image reference "${ref}": ${why}`);
}

/** Parse an image reference the way Docker does; throws a UserError naming the reference and the problem. */
export function parseReference(input: string): Reference {
  const s = input.trim();
  if (!s) throw bad(input, 'it is empty');
  if (/\s/.test(s)) throw bad(input, 'it contains whitespace');
  if (s.includes('://')) throw bad(input, 'a reference has no scheme (drop "http://" or "https://")');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    // distribution/reference's grammar admits any algorithm and upper-case hex, but go-digest's
    // validation then refuses them: a registry would answer 400 or 500 (retried for seconds)
    const problem = digestProblem(digest);
    if (problem) throw bad(input, `"${digest}" is not a digest: ${problem}`);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(input, `"${tag}" is not a valid tag (letters, digits, _ . -; at most 128, not starting with . or -)`);
  }
  if (!rest) throw bad(input, 'the repository name is missing');
  if (rest.length > NAME_MAX) throw bad(input, `the name is longer than ${NAME_MAX} characters`);

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a host when it looks like one (dot, port, localhost)
    // or has upper case (repository paths never do).
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN_RE.test(registry)) throw bad(input, `"${registry}" is not a valid registry host`);
    }
  }
  if (DOCKER_HUB_ALIASES.has(registry)) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;

  if (!path) throw bad(input, 'the repository name is missing');
  for (const component of path.split('/')) {
    if (component !== component.toLowerCase()) throw bad(input, 'repository names must be lowercase');
    if (!PATH_COMPONENT_RE.test(component)) {
      throw bad(input, `"${component}" is not a valid repository path component (lowercase letters, digits and single separators . _ __ -)`);
    }
  }
  if (!tag && !digest) tag = 'latest';
  return new Reference(registry, path, tag, digest);
}

/** The host to send registry API requests to (Docker Hub's API lives on its own host). */
export function registryApiHost(registry: string): string {
  return DOCKER_HUB_ALIASES.has(registry) ? DOCKER_HUB_API : registry;
}

/** Accept "host", "host:port" or a URL-ish "https://host/…" (as users write in flags) → host[:port]. */
export function normalizeRegistryHost(s: string): string {
  let h = s.trim().replace(/^[a-z]+:\/\//i, '');
  const slash = h.indexOf('/');
  if (slash >= 0) h = h.slice(0, slash);
  if (DOCKER_HUB_ALIASES.has(h)) return DOCKER_HUB;
  return h;
}
