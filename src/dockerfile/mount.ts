// RUN --mount values: comma-separated key=value fields (CSV quoting allowed), as BuildKit reads them.
import { InstructionError } from './errors';
import type { CacheSharing, MountSpec, MountType } from './types';

const mountTypes: MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const sharingModes: CacheSharing[] = ['shared', 'private', 'locked'];
const example = '--mount=type=cache,target=/root/.cache';

/** Splits one CSV record: commas separate fields, "..." quotes a field, "" inside quotes is a quote. */
export function splitCsvFields(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new InstructionError(`--mount value ${JSON.stringify(text)} has an unterminated quote`, example);
  fields.push(field);
  return fields;
}

// Go's strconv.ParseBool, which BuildKit uses for ro/rw/required.
function parseBool(key: string, value: string, raw: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new InstructionError(`--mount ${key}=${value} in ${JSON.stringify(raw)} is not a boolean`, `${key}=true or ${key}=false`);
}

function parseUint(key: string, value: string, raw: string, base: 8 | 10): number | undefined {
  if (value.includes('$')) return undefined; // known only after expansion
  const ok = base === 8 ? /^(0o?)?[0-7]+$/i.test(value) : /^[0-9]+$/.test(value);
  if (!ok) {
    throw new InstructionError(
      `--mount ${key}=${value} in ${JSON.stringify(raw)} is not ${base === 8 ? 'an octal' : 'a decimal'} number`,
      base === 8 ? `${key}=0755` : `${key}=1000`,
    );
  }
  return parseInt(value.replace(/^0o/i, ''), base);
}

/**
 * Parses a --mount value. `expand`, when given, is applied to each field value first (BuildKit
 * expands mount fields with the stage's ARG/ENV values); without it, values stay as written.
 */
export function parseMountSpec(raw: string, expand?: (word: string) => string): MountSpec {
  const fields = splitCsvFields(raw);
  let type: MountType = 'bind';
  let readonly: boolean | undefined;
  let required = false;
  const spec: Partial<MountSpec> = {};
  const literal = (v: string) => !v.includes('$') || expand !== undefined;
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') readonly = true;
      else if (key === 'readwrite' || key === 'rw') readonly = false;
      else if (key === 'required') required = true;
      else if (key === '') continue;
      else throw new InstructionError(`unexpected key '${key}' in --mount ${JSON.stringify(raw)}`, `key=value fields such as ${example}`);
      continue;
    }
    const value = expand ? expand(field.slice(eq + 1)) : field.slice(eq + 1);
    switch (key) {
      case 'type':
        if (!literal(value)) break;
        if (!mountTypes.includes(value as MountType)) {
          throw new InstructionError(`unsupported mount type ${JSON.stringify(value)} in --mount ${JSON.stringify(raw)}`, `type= one of ${mountTypes.join(', ')}`);
        }
        type = value as MountType;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        spec.target = value;
        break;
      case 'source':
      case 'src':
        spec.source = value;
        break;
      case 'from':
        spec.from = value;
        break;
      case 'id':
        spec.id = value;
        break;
      case 'readonly':
      case 'ro':
        if (literal(value)) readonly = parseBool(key, value, raw);
        break;
      case 'readwrite':
      case 'rw':
        if (literal(value)) readonly = !parseBool(key, value, raw);
        break;
      case 'required':
        if (literal(value)) required = parseBool(key, value, raw);
        break;
      case 'sharing':
        if (!literal(value)) break;
        if (!sharingModes.includes(value as CacheSharing)) {
          throw new InstructionError(`unsupported sharing value ${JSON.stringify(value)} in --mount ${JSON.stringify(raw)}`, `sharing= one of ${sharingModes.join(', ')}`);
        }
        spec.sharing = value as CacheSharing;
        break;
      case 'mode':
        spec.mode = parseUint(key, value, raw, 8);
        break;
      case 'uid':
        spec.uid = parseUint(key, value, raw, 10);
        break;
      case 'gid':
        spec.gid = parseUint(key, value, raw, 10);
        break;
      case 'size':
        spec.size = value;
        break;
      case 'env':
        spec.env = value;
        break;
      default:
        throw new InstructionError(`unexpected key '${key}' in --mount ${JSON.stringify(raw)}`, `one of type, target, source, from, id, ro, rw, required, sharing, mode, uid, gid, size, env`);
    }
  }
  if (spec.sharing !== undefined && type !== 'cache') {
    throw new InstructionError(`--mount ${JSON.stringify(raw)} sets sharing on a ${type} mount`, 'sharing= only with type=cache');
  }
  if ((type === 'bind' || type === 'cache' || type === 'tmpfs') && !spec.target) {
    throw new InstructionError(`--mount ${JSON.stringify(raw)} has no target`, `target=<path in the container>, e.g. ${example}`);
  }
  if (type === 'secret') {
    if (spec.from !== undefined) throw new InstructionError(`--mount ${JSON.stringify(raw)} sets from= on a secret mount`, 'type=secret,id=<id>[,target=<path>]');
    if (!spec.id && !spec.target && !spec.env) {
      throw new InstructionError(`--mount ${JSON.stringify(raw)} has no id=, target= or env= for the secret`, 'type=secret,id=<id>');
    }
  }
  return {
    ...spec,
    type,
    // BuildKit's defaults: caches and tmpfs are writable, everything else read-only.
    readonly: readonly ?? !(type === 'cache' || type === 'tmpfs'),
    required,
  } as MountSpec;
}
