// Linux capabilities of this process, read from /proc/self/status (CapEff), so that an
// impossible isolation fails with the name of the capability that is missing.
import * as fs from 'node:fs';

/** Bit numbers from linux/capability.h for the capabilities the isolation runners need. */
export const CAP = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
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

/** Docker's default capability set as a mask (moby's oci/caps/defaults.go): 0xa80425fb. */
export const DOCKER_DEFAULT_CAPS = 0xa80425fbn;
const CAP_SETPCAP = 8n;

/**
 * Whether a sandboxed step must have its capability bounding set narrowed: when this process's
 * bound holds more than Docker's default set (root on a host) and it may narrow it (CAP_SETPCAP;
 * without it, as in a container that dropped it, the step keeps the bound it inherits anyway).
 */
export function stepsNeedBounding(statusText: string): boolean {
  const bnd = /^CapBnd:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  const eff = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  if (!bnd || !eff) return false;
  const beyond = BigInt('0x' + bnd[1]) & ~DOCKER_DEFAULT_CAPS;
  return beyond !== 0n && ((BigInt('0x' + eff[1]) >> CAP_SETPCAP) & 1n) === 1n;
}

let boundingNeeded: boolean | undefined;

/** stepsNeedBounding() for this process, read once. */
export function thisProcessNeedsStepBounding(): boolean {
  if (boundingNeeded === undefined) {
    try {
      boundingNeeded = stepsNeedBounding(fs.readFileSync('/proc/self/status', 'utf8'));
    } catch {
      boundingNeeded = false;
    }
  }
  return boundingNeeded;
}
