// The image configuration blob (OCI image-spec config.md / Docker image spec v1.2): types and a
// parser that checks the fields the builder relies on. Unknown fields are kept (index signature)
// so that a base image's config round-trips unchanged apart from our edits.
import { UserError } from '../log';
import { isDigest } from './digest';

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The "config" object: how to run the image. Field names are the JSON ones (Docker's Go names). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, Record<string, never>> | null;
  Volumes?: Record<string, Record<string, never>> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  Shell?: string[];
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
  [key: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface RootFS {
  type: 'layers';
  diff_ids: string[];
}

export interface ImageConfigFile {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: RootFS;
  history?: HistoryEntry[];
  [key: string]: unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkStringArray(v: unknown, what: string, field: string, nullable = false): void {
  if (v === undefined || (nullable && v === null)) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new UserError(`invalid ${what}: "${field}" must be an array of strings`);
}

function checkString(v: unknown, what: string, field: string): void {
  if (v !== undefined && typeof v !== 'string') throw new UserError(`invalid ${what}: "${field}" must be a string`);
}

function checkObject(v: unknown, what: string, field: string): void {
  if (v !== undefined && v !== null && !isObject(v)) throw new UserError(`invalid ${what}: "${field}" must be an object`);
}

/** Parse and validate an image config blob; `what` names it in errors (e.g. "config of busybox"). */
export function parseConfig(body: Buffer | string, what = 'image config'): ImageConfigFile {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (e) {
    throw new UserError(`invalid ${what}: not JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new UserError(`invalid ${what}: expected a JSON object`);
  for (const f of ['architecture', 'os']) {
    if (typeof doc[f] !== 'string' || !doc[f]) throw new UserError(`invalid ${what}: "${f}" must be a non-empty string`);
  }
  for (const f of ['variant', 'os.version', 'created', 'author']) checkString(doc[f], what, f);
  checkStringArray(doc['os.features'], what, 'os.features', true);

  const rootfs = doc.rootfs;
  if (!isObject(rootfs)) throw new UserError(`invalid ${what}: "rootfs" must be an object with type "layers" and "diff_ids"`);
  if (rootfs.type !== 'layers') throw new UserError(`invalid ${what}: "rootfs.type" must be "layers", got ${JSON.stringify(rootfs.type)}`);
  // Docker writes "diff_ids": null for images without layers.
  if (rootfs.diff_ids === null || rootfs.diff_ids === undefined) rootfs.diff_ids = [];
  if (!Array.isArray(rootfs.diff_ids)) throw new UserError(`invalid ${what}: "rootfs.diff_ids" must be an array of digests`);
  rootfs.diff_ids.forEach((d, i) => {
    if (!isDigest(d)) throw new UserError(`invalid ${what}: "rootfs.diff_ids[${i}]" is not a digest: ${JSON.stringify(d)}`);
  });

  if (doc.config !== undefined && doc.config !== null) {
    const c = doc.config;
    if (!isObject(c)) throw new UserError(`invalid ${what}: "config" must be an object`);
    for (const f of ['User', 'WorkingDir', 'StopSignal', 'Hostname', 'Domainname']) checkString(c[f], what, `config.${f}`);
    for (const f of ['Env', 'Shell']) checkStringArray(c[f], what, `config.${f}`, true);
    for (const f of ['Entrypoint', 'Cmd', 'OnBuild']) checkStringArray(c[f], what, `config.${f}`, true);
    for (const f of ['Labels', 'ExposedPorts', 'Volumes', 'Healthcheck']) checkObject(c[f], what, `config.${f}`);
    if (isObject(c.Labels) && Object.values(c.Labels).some((v) => typeof v !== 'string')) {
      throw new UserError(`invalid ${what}: "config.Labels" values must be strings`);
    }
    if (c.ArgsEscaped !== undefined && typeof c.ArgsEscaped !== 'boolean') throw new UserError(`invalid ${what}: "config.ArgsEscaped" must be a boolean`);
  } else if (doc.config === null) {
    delete doc.config;
  }

  if (doc.history !== undefined && doc.history !== null) {
    if (!Array.isArray(doc.history)) throw new UserError(`invalid ${what}: "history" must be an array`);
    doc.history.forEach((h, i) => {
      if (!isObject(h)) throw new UserError(`invalid ${what}: "history[${i}]" must be an object`);
      for (const f of ['created', 'created_by', 'author', 'comment']) checkString(h[f], what, `history[${i}].${f}`);
      if (h.empty_layer !== undefined && typeof h.empty_layer !== 'boolean') throw new UserError(`invalid ${what}: "history[${i}].empty_layer" must be a boolean`);
    });
  } else if (doc.history === null) {
    delete doc.history;
  }
  return doc as ImageConfigFile;
}
