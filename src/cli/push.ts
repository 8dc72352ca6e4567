// `drydock push PATH --destination REF...` (also `executor push`, as in the maintained kaniko
// fork): push an image kept by an earlier build (--oci-layout-path, --tar-path). No logic here.
import * as os from 'node:os';
import type { Command } from 'commander';
import { pushArtifact } from '../build/push-artifact';
import { createKeychain } from '../credentials';
import { log } from '../log';
import { RegistryClient } from '../registry';
import { addLogFlags, addRegistryFlags, collect, configureLogging, intArg, newCommand, parseBool, parseCommand, registryOptions } from './flags';

export function pushCommand(): Command {
  const cmd = newCommand('push', 'Push an image an earlier build kept: an OCI layout directory (DIR, or DIR:REF for one of several images) or a docker-archive tarball (--tar-path, docker save).')
    .argument('<path>', 'the OCI layout directory or the tarball')
    .option('-d, --destination <image>', 'image reference to push to (repeatable)', collect, [])
    .option('--digest-file <file>', 'write the image digest to this file')
    .option('--image-name-with-digest-file <file>', 'write IMAGE@DIGEST for each destination to this file')
    .option('--image-name-tag-with-digest-file <file>', 'write IMAGE:TAG@DIGEST for each destination to this file')
    .option('--push-retry <n>', 'retries for transient push failures (408/429/5xx, resets), with backoff', (v) => intArg(v, 'push-retry'), 3)
    .option('--push-ignore-immutable-tag-errors [bool]', 'treat a refused push to an immutable tag as success', parseBool('push-ignore-immutable-tag-errors'));
  return addLogFlags(addRegistryFlags(cmd));
}

export async function main(args: string[]): Promise<number> {
  // beside a builder sidecar, the builder holds the registry credentials: it pushes
  const remote = process.env.DRYDOCK_REMOTE;
  if (remote) return (require('../sidecar/client') as typeof import('../sidecar/client')).runRemoteBuild(remote, ['push', ...args]);
  const cmd = pushCommand();
  if (!parseCommand(cmd, args)) return 0;
  const f = cmd.opts();
  configureLogging(f);
  await RegistryClient.using({
    ...registryOptions(f),
    keychain: createKeychain(),
    retries: { push: f.pushRetry },
    log: log.child({ component: 'registry' }),
  }, (client) => pushArtifact({
    location: cmd.args[0],
    destinations: f.destination,
    client,
    workDir: os.tmpdir(),
    ignoreImmutableTagErrors: !!f.pushIgnoreImmutableTagErrors,
    digestFile: f.digestFile,
    imageNameWithDigestFile: f.imageNameWithDigestFile,
    imageNameTagWithDigestFile: f.imageNameTagWithDigestFile,
  }));
  return 0;
}
