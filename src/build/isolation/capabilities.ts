// Linux capabilities of this process, read from /proc/self/status (CapEff), so that an
// impossible isolation fails with the name of the capability that is missing; and the bound a
// RUN step gets (Docker's default set, unless the step asks for --security=insecure).
import * as fs from 'node:fs';

/** Bit numbers from linux/capability.h for the capabilities the isolation runners need. */
export const CAP = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_ADMIN: 12,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_ADMIN: 21,
  CAP_MKNOD: 27,
} as const;
export type CapName = keyof typeof CAP;

export class CapabilitySet {
  constructor(private readonly bits: bigint) {}

  has(cap: CapName): boolean {
    return ((this.bits >> BigInt(CAP[cap])) & 1n) === 1n;
  }

  /** The names among `caps` this set lacks, in the order given. */
  missing(...caps: CapName[]): CapName[] {
    return caps.filter((c) => !this.has(c));
  }

  static fromHex(hex: string): CapabilitySet {
    if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw new Error(`CapEff "${hex}": expected up to 16 hex digits`);
    return new CapabilitySet(BigInt('0x' + hex));
  }

  static of(...caps: CapName[]): CapabilitySet {
    let b = 0n;
    for (const c of caps) b |= 1n << BigInt(CAP[c]);
    return new CapabilitySet(b);
  }
}

/** Effective capabilities from a /proc/<pid>/status text. */
export function parseCapEff(statusText: string): CapabilitySet {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  if (!m) throw new Error('/proc/self/status: no "CapEff:" line (is /proc mounted?)');
  return CapabilitySet.fromHex(m[1]);
}

export function readCapabilities(statusFile = '/proc/self/status'): CapabilitySet {
  return parseCapEff(fs.readFileSync(statusFile, 'utf8'));
}

/**
 * Docker's default capability set (moby's oci/caps/defaults.go) as setpriv names and bit numbers:
 * the bound of a sandboxed RUN step, as in `docker build`.
 */
const DOCKER_DEFAULT: Array<[string, number]> = [
  ['chown', 0], ['dac_override', 1], ['fowner', 3], ['fsetid', 4], ['kill', 5], ['setgid', 6], ['setuid', 7],
  ['setpcap', 8], ['net_bind_service', 10], ['net_raw', 13], ['sys_chroot', 18], ['mknod', 27], ['audit_write', 29], ['setfcap', 31],
];
const DOCKER_DEFAULT_MASK = DOCKER_DEFAULT.reduce((m, [, bit]) => m | (1n << BigInt(bit)), 0n);

/** setpriv --bounding-set's value for Docker's default set (capabilities this process lacks stay absent). */
export const SANDBOX_BOUNDING_SET = ['-all', ...DOCKER_DEFAULT.map(([name]) => `+${name}`)].join(',');

/**
 * Whether a sandboxed step must have its capability bounding set narrowed: when this process's
 * bound holds more than Docker's default set (root on a host) and it may narrow it (CAP_SETPCAP;
 * without it, as in a container that dropped it, the step keeps the bound it inherits anyway).
 */
export function stepsNeedBounding(statusText: string): boolean {
  const bnd = /^CapBnd:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  if (!bnd || !/^CapEff:/m.test(statusText)) return false;
  return (BigInt('0x' + bnd[1]) & ~DOCKER_DEFAULT_MASK) !== 0n && parseCapEff(statusText).has('CAP_SETPCAP');
}

let boundingNeeded: boolean | undefined;

/**
 * setpriv's option bounding a step's capabilities; none for an insecure step, or when this
 * process's own bound is within the set already or it may not narrow it (`needed`: read from
 * /proc/self/status once per process).
 */
export function boundingArgs(spec: { security?: 'sandbox' | 'insecure' }, needed?: boolean): string[] {
  if (needed === undefined) {
    try {
      boundingNeeded ??= stepsNeedBounding(fs.readFileSync('/proc/self/status', 'utf8'));
    } catch {
      boundingNeeded = false;
    }
    needed = boundingNeeded;
  }
  return spec.security === 'insecure' || !needed ? [] : [`--bounding-set=${SANDBOX_BOUNDING_SET}`];
}
