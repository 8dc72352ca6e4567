// Layer cache keys. A key is sha256 over an encoding in which every part carries its name and its
// length, so no two different inputs can produce the same byte string (kaniko concatenates plain
// strings, where "a"+"bc" and "ab"+"c" collide). Parts that are absent are encoded as absent, not
// as empty, so "no --chown" and "--chown=" differ too.
import { createHash, type Hash } from 'node:crypto';
import type { Heredoc } from '../../dockerfile/types';

/** Bumped whenever the meaning of a key changes, so old cache entries simply stop matching. */
export const KEY_VERSION = 'drydock-layer-cache-v1';

const TAG_ABSENT = 0;
const TAG_BYTES = 1;
const TAG_LIST = 2;

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** An incremental, unambiguous key builder: `new CacheKey().text('a', x).map('env', m).hex()`. */
export class CacheKey {
  private readonly hash: Hash = createHash('sha256');
  private done?: string;

  constructor(version: string = KEY_VERSION) {
    this.bytes('version', version);
  }

  private raw(tag: number, name: string, body?: Buffer): void {
    if (this.done !== undefined) throw new Error('CacheKey: part added after the key was computed');
    const n = Buffer.from(name, 'utf8');
    this.hash.update(u64(n.length));
    this.hash.update(n);
    this.hash.update(Buffer.from([tag]));
    if (body) {
      this.hash.update(u64(body.length));
      this.hash.update(body);
    }
  }

  /** A named string or byte part; `undefined` is recorded as absent (distinct from ""). */
  bytes(name: string, value: string | Buffer | undefined): this {
    if (value === undefined) this.raw(TAG_ABSENT, name);
    else this.raw(TAG_BYTES, name, typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    return this;
  }

  /** An ordered list of strings (order matters: ENV entries, exec-form arguments). */
  list(name: string, values: readonly string[] | undefined): this {
    if (values === undefined) return this.bytes(name, undefined);
    this.raw(TAG_LIST, name, u64(values.length));
    values.forEach((v, i) => this.bytes(String(i), v));
    return this;
  }

  /** A string map; keys are sorted so that the order they were set in does not matter. */
  map(name: string, values: Record<string, string | undefined> | undefined): this {
    if (values === undefined) return this.bytes(name, undefined);
    const keys = Object.keys(values).sort();
    this.raw(TAG_LIST, name, u64(keys.length));
    for (const k of keys) this.bytes(k, values[k]);
    return this;
  }

  /** The key: 64 lowercase hex digits (a valid registry tag and OCI ref name). */
  hex(): string {
    if (this.done === undefined) this.done = this.hash.digest('hex');
    return this.done;
  }
}

/** Everything a layer-producing (or metadata) step's result depends on. */
export interface CacheKeyParts {
  /** base image manifest digest for a stage's first step (see baseParentKey), else the previous step's key */
  parent: string;
  /** the instruction as written (Instruction.text), see instructionText for heredocs */
  instruction: string;
  /** ARG values in scope (declared with a value, plus proxy args) */
  args: Record<string, string>;
  /** the image's ENV as "K=V" entries, in order */
  env: readonly string[];
  /** COPY/ADD: digestEntries() of the planned layer entries */
  sources?: string;
  /** --chown, --chmod, --from, --checksum …: the expanded values */
  flags?: Record<string, string | undefined>;
  /** settings that change the bytes of a layer built from the same inputs (reproducible, epoch, compression) */
  layerOptions?: Record<string, string | undefined>;
}

/** The key of one step: 64 hex digits. Changing any single part gives a different key. */
export function cacheKey(p: CacheKeyParts): string {
  return new CacheKey()
    .bytes('parent', p.parent)
    .bytes('instruction', p.instruction)
    .map('args', p.args)
    .list('env', p.env)
    .bytes('sources', p.sources)
    .map('flags', p.flags)
    .map('layer-options', p.layerOptions)
    .hex();
}

/**
 * The parent key of a stage's first step: the base image's manifest digest (which pins the
 * platform too), or "scratch" with the platform when there is no base image.
 */
export function baseParentKey(baseDigest: string | undefined, platform: string): string {
  return new CacheKey().bytes('base', baseDigest ?? 'scratch').bytes('platform', platform).hex();
}

/** Instruction.text leaves heredoc bodies out; a key must see them. */
export function instructionText(text: string, heredocs: readonly Heredoc[] = []): string {
  if (heredocs.length === 0) return text;
  const k = new CacheKey('heredocs').bytes('text', text);
  for (const h of heredocs) {
    k.bytes('name', h.name).bytes('content', h.content).bytes('expand', String(h.expand)).bytes('chomp', String(h.chomp)).bytes('fd', h.fd === undefined ? undefined : String(h.fd));
  }
  return `${text}\n#heredocs:${k.hex()}`;
}
