// "May we mount here?" asked the only way that tells (a capability can be granted while a seccomp
// or AppArmor profile still forbids mount(2)): by mounting a tmpfs on a fresh temporary
// directory, through `unshare` so that nothing can leak. One answer per question and process.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostTools } from './host-tools';

type Tools = Pick<HostTools, 'unshare' | 'mount'>;

export interface MountProbe {
  /** blocking */
  ask(tools: Tools): boolean;
  /** the same without blocking this thread (the build resolves its bases meanwhile) */
  probe(tools: Tools): Promise<boolean>;
}

/** A probe running `unshare <unshareFlags> -- mount -t tmpfs none DIR`. */
export function mountProbe(unshareFlags: string[]): MountProbe {
  let answer: boolean | undefined;
  let pending: Promise<boolean> | undefined;
  const args = (tools: Tools, dir: string) => [...unshareFlags, '--', tools.mount!, '-t', 'tmpfs', 'none', dir];
  const prefix = path.join(os.tmpdir(), 'drydock-mount-probe-');
  return {
    ask(tools) {
      if (answer !== undefined) return answer;
      if (!tools.unshare || !tools.mount) return (answer = false);
      const dir = fs.mkdtempSync(prefix);
      try {
        answer = spawnSync(tools.unshare, args(tools, dir), { timeout: 5000, stdio: 'ignore' }).status === 0;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      return answer;
    },
    probe(tools) {
      if (answer !== undefined) return Promise.resolve(answer);
      if (!tools.unshare || !tools.mount) return Promise.resolve((answer = false));
      const unshare = tools.unshare;
      pending ??= fs.promises.mkdtemp(prefix).then((dir) => new Promise<boolean>((resolve) => {
        execFile(unshare, args(tools, dir), { timeout: 5000 }, (err) => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve((answer ??= !err));
        });
      }));
      return pending;
    },
  };
}
