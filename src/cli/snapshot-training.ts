// A training run for the startup snapshot (src/cli/startup-snapshot.ts): before V8 saves the heap,
// run the code every build runs on a tiny example, so that the snapshot holds those functions
// compiled. A function first called after start is compiled then, and each build's hot paths
// (Dockerfile parsing, flags, walking a directory, writing a layer, unpacking one) paid for that
// every time: an extraction of busybox's layer takes ~45 ms cold and ~25 ms warm.
//
// Only code that keeps no state between calls belongs here: whatever the training leaves in
// module variables would be in every process started from the snapshot. Not here for that reason:
// the registry client (undici keeps its WebAssembly parser in a module variable, which a snapshot
// cannot hold), isolation and host-tool probes (cached per process), the logger's settings.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { buildCommand } from './build';
import { parseCommand } from './flags';
import { parseDockerfile } from '../dockerfile';
import { extractLayer } from '../fs/extract';
import { writeLayer } from '../fs/layer-writer';
import { entriesFromDir } from '../fs/walk';
import { PathIndex } from '../build/path-index';
import { stageParentKey } from '../build/cache';
import { parseConfig } from '../image/config';
import { editConfig, emptyImage, serializeImage } from '../image/image';
import { parseManifest } from '../image/manifest';
import { defaultPlatform, selectManifest } from '../image/platform';
import { parseReference } from '../image/reference';
import { redact } from '../log/redact';

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE}:latest AS build
ENV A=1 B="two words"
WORKDIR /src
COPY --chown=1:1 src/ /src/
RUN --mount=type=cache,target=/var/cache set -e; echo "\${A}" > /out
RUN <<EOF
echo heredoc
EOF
FROM busybox
LABEL org.example=yes
COPY --from=build /out /app/
USER 1000:1000
EXPOSE 8080/tcp
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["ls", "/app"]
`;

/** Run each path once on throwaway files under the system's temporary directory. */
export async function train(): Promise<void> {
  parseDockerfile(DOCKERFILE, 'Dockerfile');
  const cmd = buildCommand();
  parseCommand(cmd, ['-c', '/ctx', '-f', 'Dockerfile', '--no-push', '--oci-layout-path', '/out', '-d', 'registry.example/app:1', '--build-arg', 'A=1', '--label', 'a=b']);
  cmd.opts();
  redact('GET https://user:pass@registry.example/v2/ authorization: Bearer abc "password": "x"');

  // what resolving a base and writing the image do with its documents
  const platform = defaultPlatform();
  const ref = parseReference('registry.example:5000/team/app:1.0').withDigest(`sha256:${'a'.repeat(64)}`);
  const image = editConfig(emptyImage(platform), (c) => { c.Env = ['PATH=/usr/bin:/bin']; c.Cmd = ['sh']; });
  const s = serializeImage(image);
  parseConfig(s.configBody);
  parseManifest(s.manifestBody, s.manifestMediaType);
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: s.manifestMediaType, digest: s.manifestDigest, size: s.manifestBody.length, platform }] };
  const parsed = parseManifest(JSON.stringify(index), index.mediaType);
  if (parsed.kind === 'index') selectManifest(parsed.index, platform);
  stageParentKey(ref.digest, platform);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-snapshot-training-'));
  try {
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, `file-${i}.txt`), `content ${i}\n`.repeat(i + 1));
    fs.writeFileSync(path.join(src, 'bin', 'tool'), 'tool');
    for (let i = 0; i < 40; i++) fs.symlinkSync('tool', path.join(src, 'bin', `link-${i}`));
    const entries = await entriesFromDir(src, '/app', {});
    const tarFile = path.join(work, 'layer.tar');
    await writeLayer(entries, tarFile, { compression: 'none' });
    // a base layer arrives compressed
    const gz = zlib.gzipSync(fs.readFileSync(tarFile), { level: 1 });
    const root = path.join(work, 'root');
    fs.mkdirSync(root);
    const seen: string[] = [];
    await extractLayer(Readable.from([gz]), root, { preserveOwnership: false, onEntry: (p) => { seen.push(p); } });
    new PathIndex().addEntries(entries);
    await new PathIndex().addLayer(Readable.from([gz]));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
