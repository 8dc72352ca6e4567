#!/usr/bin/env bash
# Memory stays flat whatever the layer size: build a context holding one large file (default
# 1 GiB of random data) into an OCI layout and report the executor's peak RSS (VmHWM of the node
# process, read by GNU time). Fails when the peak exceeds the limit (default 300 MB).
#
#   test/bench/peak-rss.sh [SIZE_MIB=1024] [LIMIT_MB=300]
# Scratch space: $BENCH_SCRATCH (default a temp dir; use a journaled ext4 mount on these machines,
# see test/support/scratch-ext4.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
size=${1:-1024}; limit=${2:-300}
scratch=${BENCH_SCRATCH:-$(mktemp -d)}
ctx=$scratch/peak-rss-ctx; out=$scratch/peak-rss-oci
rm -rf "$ctx" "$out"; mkdir -p "$ctx"
head -c "$((size * 1024 * 1024))" /dev/urandom > "$ctx/big.bin"
printf 'FROM scratch\nCOPY big.bin /big.bin\n' > "$ctx/Dockerfile"
[ -d "$here/dist" ] || (cd "$here" && npx tsc -p .)
/usr/bin/time -f '%M %e' -o "$scratch/time.txt" "$here/bin/executor" --context "$ctx" --no-push --oci-layout-path "$out" --verbosity warn
read -r kb secs < "$scratch/time.txt"
mb=$((kb / 1024))
echo "COPY of a ${size} MiB file: peak RSS ${mb} MB, ${secs}s (limit ${limit} MB)"
rm -rf "$ctx" "$out"
[ "$mb" -le "$limit" ] || { echo "FAIL: peak RSS ${mb} MB exceeds ${limit} MB" >&2; exit 1; }
