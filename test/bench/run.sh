#!/usr/bin/env bash
# Compare our executor with `buildah bud --isolation chroot` (test/bench/compare.ts) and measure
# how the RUN snapshot scales with the image's file count (test/bench/snapshot-scaling.ts).
#
#   test/bench/run.sh [RUNS=5]            e.g. BENCH_ONLY=tiny,big-file test/bench/run.sh 3
#
# env: BENCH_SCRATCH (/tmp/bench-scratch)  BENCH_ONLY (scenario names, comma separated; "none"
#      skips the comparison)  BENCH_SCALING=0 (skip the snapshot-scaling check)  BENCH_KEEP=1
#      BENCH_OURS_AS=container (ours as in an ordinary container: no CAP_SYS_ADMIN, so stat-walk snapshots)
# Scratch space is a journaled ext4 image mounted at $BENCH_SCRATCH when we are root (why: see
# test/support/scratch-ext4.sh); it stays mounted for the next run.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
export BENCH_RUNS=${1:-${BENCH_RUNS:-5}}
export BENCH_SCRATCH=${BENCH_SCRATCH:-/tmp/bench-scratch}
if [ "$(id -u)" = 0 ] && ! mountpoint -q "$BENCH_SCRATCH"; then
  bash "$here/test/support/scratch-ext4.sh" mount "$BENCH_SCRATCH" 32G >&2
fi
# on a fresh clone: the system packages (buildah, GNU time, ...; idempotent) and the build
bash "$here/test/support/install-deps.sh" >&2
[ -d "$here/node_modules" ] || (cd "$here" && npm ci >&2)
command -v buildah >/dev/null || { echo "buildah is needed (apt-get install buildah)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }
(cd "$here" && npx tsc -p . >/dev/null) || true   # compiles everything; errors in others' files do not stop us
# what bin/executor starts from: a startup snapshot of what was just compiled (as `npm run build`)
(cd "$here" && node dist/src/cli/make-snapshot.js >&2)
[ "${BENCH_ONLY:-}" = none ] || node "$here/dist/test/bench/compare.js"
[ "${BENCH_SCALING:-1}" = 0 ] || node "$here/dist/test/bench/snapshot-scaling.js"
