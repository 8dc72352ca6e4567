#!/usr/bin/env bash
# A/B timing of two builds of the executor on one context, alternating A and B within one run so
# that load from others on the shared machine hits both alike.
#
#   test/bench/ab.sh snapshot DIR            copy bin/ and dist/src/ of this tree to DIR (a build to compare)
#   test/bench/ab.sh run CTX N DIR_A DIR_B   build CTX N times with each; print wall s and peak RSS MB
# Scratch: $TMPDIR (use a journaled ext4 mount, see test/support/scratch-ext4.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
case "$1" in
  snapshot)
    rm -rf "$2"; mkdir -p "$2/dist"
    cp -r "$here/bin" "$2/bin"; cp -r "$here/dist/src" "$2/dist/src"
    ln -s "$here/node_modules" "$2/node_modules"; cp "$here/package.json" "$2/" ;;
  run)
    ctx=$2; n=$3; shift 3
    out=${TMPDIR:-/tmp}/ab-out
    for i in $(seq 1 "$n"); do
      for d in "$@"; do
        rm -rf "$out"
        /usr/bin/time -f '%e %M' -o "$out.time" "$d/bin/executor" -c "$ctx" --no-push --oci-layout-path "$out" --verbosity warn >"$out.log" 2>&1 \
          || { tail -20 "$out.log"; exit 1; }
        read -r s kb < "$out.time"
        echo "$(basename "$d") run $i: ${s}s $((kb / 1024))MB"
      done
    done
    rm -rf "$out" "$out.time" "$out.log" ;;
  *) echo "usage: $0 snapshot DIR | run CTX N DIR..." >&2; exit 2 ;;
esac
