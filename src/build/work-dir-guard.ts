// The build's temporary work dir (stage roots, layers, blobs) and what must happen to it however
// the build ends.
//
// A normal or failed end, or an interrupt: the dir is renamed away at once and a detached `rm`
// deletes it, so nobody waits for tens of thousands of files to go; it never crosses into another
// filesystem.
//
// An executor killed outright (SIGKILL, the OOM killer) cannot clean up, and its RUN steps would
// live on: in an ordinary container they have no PID namespace to die with, and they do not carry
// the CI's environment, so a process-tree killer that goes by it (Jenkins') misses them. So where
// the build runs a RUN, a guard shell is started while the first step runs (this thread only
// waits then: a program started at the end cost ~3 ms, one started before the build delayed
// everything). It learns each step's process group as it starts and ends. Told "go", it removes
// the renamed dir; reaching the end of its input without it (its writer died), it kills the
// steps' groups, detaches mounts left in the dir (an overlay a RUN was writing into) and removes
// it. Builds without RUN start `rm` at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { hostProgram } from './isolation/host-tools';
import { watchStepGroups, whileAStepRuns } from './isolation/spawn-step';

/** $1: the renamed dir ("go"), $2: the dir itself (the writer died). Lines: started|ended PGID, go. */
const GUARD_SCRIPT = `pgs=
while read -r word arg; do
  case $word in
    started) pgs="$pgs $arg" ;;
    ended) rest=; for p in $pgs; do [ "$p" = "$arg" ] || rest="$rest $p"; done; pgs=$rest ;;
    go) exec rm -rf --one-file-system -- "$1" ;;
  esac
done
for p in $pgs; do kill -9 "-$p" 2>/dev/null; done
while read -r _ _ _ _ mp _; do
  case $mp in "$2"/*) echo "$mp" ;; esac
done < /proc/self/mountinfo | sort -r | while read -r mp; do umount -l "$mp" 2>/dev/null; done
exec rm -rf --one-file-system -- "$2" "$1"`;

export class WorkDirGuard {
  private readonly trash: string;
  private child: ChildProcess | undefined;
  private readonly forgetShell: () => void;
  private forgetGroups: (() => void) | undefined;

  constructor(private readonly dir: string) {
    this.trash = `${dir}.trash`;
    this.forgetShell = whileAStepRuns(() => this.startShell());
  }

  private startShell(): void {
    if (this.child || !fs.existsSync(this.dir)) return;
    try {
      const child = spawn(hostProgram('sh') ?? '/bin/sh', ['-c', GUARD_SCRIPT, 'drydock-guard', this.trash, this.dir], {
        detached: true, stdio: ['pipe', 'ignore', 'ignore'],
      });
      this.child = child;
      child.on('error', () => { this.child = undefined; });
      child.stdin!.on('error', () => undefined); // a shell that went away: the fallback below
      child.unref();
      (child.stdin as unknown as { unref(): void }).unref();
      this.forgetGroups = watchStepGroups((event, pgid) => {
        if (child.stdin?.writable) child.stdin.write(`${event} ${pgid}\n`);
      });
    } catch {
      this.child = undefined;
    }
  }

  private stopWatching(): void {
    this.forgetShell();
    this.forgetGroups?.();
    this.forgetGroups = undefined;
  }

  async discard(): Promise<void> {
    this.stopWatching();
    try {
      await fs.promises.rename(this.dir, this.trash);
    } catch {
      this.child?.stdin?.end('go\n'); // (the trash it would remove does not exist)
      await fs.promises.rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
      return;
    }
    this.removeTrash();
  }

  /** discard() for a process about to exit (interrupted): the rename and the word to the shell are immediate. */
  discardNow(): void {
    this.stopWatching();
    try {
      fs.renameSync(this.dir, this.trash);
    } catch {
      return; // the shell, if any, sees its input end and removes the dir
    }
    this.removeTrash();
  }

  private removeTrash(): void {
    const child = this.child;
    if (child?.stdin?.writable && child.exitCode === null) {
      child.stdin.end('go\n');
      return;
    }
    const rm = spawn('rm', ['-rf', '--one-file-system', this.trash], { detached: true, stdio: 'ignore' });
    rm.on('error', () => fs.rmSync(this.trash, { recursive: true, force: true }));
    rm.unref();
  }
}
