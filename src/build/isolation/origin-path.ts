// A RUN step without /proc (chroot isolation where this container may neither mount nor make a
// user namespace: Docker's and containerd's default seccomp profile, so ECS on EC2 and Fargate)
// cannot start java. The JVM runs without /proc; its launchers do not load: `bin/java` finds
// libjli.so through the run path `$ORIGIN/../lib`, and glibc learns a program's `$ORIGIN` from
// /proc/self/exe. Without it glibc takes LD_ORIGIN_PATH instead, so a step gets that variable,
// pointing at the directory of the java it would run, and Maven and Gradle builds work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostPathInRoot } from '../../fs/in-root';

const VAR = 'LD_ORIGIN_PATH';

function valueOf(env: readonly string[], name: string): string | undefined {
  const prefix = `${name}=`;
  for (let i = env.length - 1; i >= 0; i--) if (env[i].startsWith(prefix)) return env[i].slice(prefix.length);
  return undefined;
}

/**
 * `LD_ORIGIN_PATH=<dir>` for a step with `env` in `root`, or undefined: the step sets it itself,
 * or there is no java to start. The java is `$JAVA_HOME/bin/java` when the step's JAVA_HOME
 * names one, else the first on its PATH; `<dir>` is the directory of the file it resolves to
 * (through links such as Debian's /usr/bin/java → /etc/alternatives/java → the JDK's), inside
 * the image.
 */
export function originPathEntry(root: string, env: readonly string[]): string | undefined {
  if (valueOf(env, VAR) !== undefined) return undefined;
  const javaHome = valueOf(env, 'JAVA_HOME');
  const dirs = [
    ...(javaHome?.startsWith('/') ? [path.posix.join(javaHome, 'bin')] : []),
    ...(valueOf(env, 'PATH') ?? '').split(':').filter((d) => d.startsWith('/')),
  ];
  for (const dir of dirs) {
    let host: string;
    try {
      host = hostPathInRoot(root, path.posix.join(dir, 'java'));
      if (!fs.statSync(host).isFile()) continue;
    } catch {
      continue; // missing, a link loop, or a component that is not a directory
    }
    return `${VAR}=${path.posix.dirname('/' + path.relative(root, host).split(path.sep).join('/'))}`;
  }
  return undefined;
}
