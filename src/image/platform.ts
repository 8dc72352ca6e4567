// Platforms ("linux/arm64/v8"), the platform this process runs on, and picking the right manifest
// out of an index with containerd's normalization (aarch64 = arm64, arm64/v8 = arm64, arm = arm/v7…).
import * as os from 'node:os';
import { UserError } from '../log';
import type { Descriptor, ImageIndex } from './manifest';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  /** "os.version" in JSON (Windows builds). */
  osVersion?: string;
  /** "os.features" in JSON. */
  osFeatures?: string[];
}

/** Parse "os/arch[/variant]" (as --custom-platform and --platform take it). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p || !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw new UserError(`invalid platform "${s}": expected os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const [osName, architecture, variant] = parts;
  const p: Platform = { os: osName.toLowerCase(), architecture: architecture.toLowerCase() };
  if (variant) p.variant = variant.toLowerCase();
  return p;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}${p.osVersion ? ` (${p.osVersion})` : ''}`;
}

/**
 * The platform of this process, as an image platform. The OS is always linux: drydock builds Linux
 * images whatever the host says (it only runs RUN steps on Linux anyway).
 */
export function defaultPlatform(arch: string = process.arch): Platform {
  switch (arch) {
    case 'x64': return { os: 'linux', architecture: 'amd64' };
    case 'arm64': return { os: 'linux', architecture: 'arm64', variant: 'v8' };
    case 'arm': {
      const v = (process.config.variables as Record<string, unknown>).arm_version;
      return { os: 'linux', architecture: 'arm', variant: `v${typeof v === 'string' || typeof v === 'number' ? v : 7}` };
    }
    case 'ia32': return { os: 'linux', architecture: '386' };
    case 'ppc64': return { os: 'linux', architecture: os.endianness() === 'LE' ? 'ppc64le' : 'ppc64' };
    case 'loong64': return { os: 'linux', architecture: 'loong64' };
    default: return { os: 'linux', architecture: arch }; // s390x, riscv64, mips64el… share Go's names
  }
}

/** containerd's platforms.Normalize: canonical os/architecture/variant. */
export function normalizePlatform(p: Platform): Platform {
  const osName = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386': arch = '386'; variant = ''; break;
    case 'x86_64': case 'x86-64': case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64': case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf': arch = 'arm'; variant = 'v7'; break;
    case 'armel': arch = 'arm'; variant = 'v6'; break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  const out: Platform = { os: osName, architecture: arch };
  if (variant) out.variant = variant;
  if (p.osVersion) out.osVersion = p.osVersion;
  if (p.osFeatures) out.osFeatures = p.osFeatures;
  return out;
}

// Variants a platform can run, best first (containerd's "only" matcher for arm, amd64 levels).
function compatibleVariants(arch: string, variant: string): string[] {
  if (arch === 'arm') {
    const order = ['v8', 'v7', 'v6', 'v5'];
    const i = order.indexOf(variant);
    return i >= 0 ? order.slice(i) : [variant];
  }
  if (arch === 'amd64') {
    const order = ['v4', 'v3', 'v2', ''];
    const i = order.indexOf(variant);
    return i >= 0 ? order.slice(i) : [variant];
  }
  if (arch === 'arm64' && variant === '') return ['', 'v8'];
  return [variant];
}

/**
 * How well `have` serves a request for `want`: 0 is an exact match, higher is a worse but usable
 * match, undefined means no match. A `want` without variant accepts any variant of its architecture.
 */
export function platformMatchRank(want: Platform, have: Platform): number | undefined {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return undefined;
  if (w.osVersion && h.osVersion && w.osVersion !== h.osVersion) return undefined;
  const hv = h.variant ?? '';
  if (!want.variant) return hv === (w.variant ?? '') ? 0 : 1;
  const i = compatibleVariants(w.architecture, w.variant ?? '').indexOf(hv);
  return i >= 0 ? i : undefined;
}

export function platformMatches(want: Platform, have: Platform): boolean {
  return platformMatchRank(want, have) !== undefined;
}

/** The index entry that best matches `want`; a UserError listing the platforms on offer otherwise. */
export function selectManifest(index: ImageIndex, want: Platform, what = 'image index'): Descriptor {
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  for (const d of index.manifests) {
    if (!d.platform) continue;
    const rank = platformMatchRank(want, d.platform);
    if (rank !== undefined && rank < bestRank) {
      best = d;
      bestRank = rank;
    }
  }
  if (best) return best;
  const available = index.manifests
    .filter((d) => d.platform && d.platform.os !== 'unknown')
    .map((d) => formatPlatform(d.platform as Platform));
  throw new UserError(
    `no image for platform ${formatPlatform(want)} in ${what}; available: ${available.length ? available.join(', ') : 'none'}` +
      ' (choose one with --custom-platform)',
  );
}
