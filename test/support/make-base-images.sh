#!/usr/bin/env bash
# Build offline base images and push them into a registry (no Docker daemon, no internet
# except the Debian mirror for debootstrap). Tools: busybox-static, umoci, skopeo,
# debootstrap, jq, sha256sum.
#
#   make-base-images.sh [REGISTRY] [busybox|debian|all]     (default 127.0.0.1:5000 all)
#
# Pushes (REGISTRY/...):
#   library/busybox:latest          Docker schema2 manifest (application/vnd.docker.distribution.manifest.v2+json)
#   library/busybox:oci             same image as an OCI manifest (no top-level mediaType, as skopeo writes it)
#   library/busybox:multiarch       OCI image index: linux/amd64 (real) + linux/arm64 (same amd64 layer,
#                                   config says arm64 -- only for platform-selection tests, do not run it)
#   library/debian:bookworm-slim    Docker schema2; debootstrap --variant=minbase, docs/man/locales/apt lists removed
#   library/debian:bookworm-slim-oci  same as OCI manifest
#
# env: TESTBED_DIR (/tmp/testbed)  BASE_CACHE ($TESTBED_DIR/cache)  DEBIAN_MIRROR (default: first URIs: in /etc/apt/sources.list.d/debian.sources)
#      DEST_CREDS (user:pass, for htpasswd/token registries)  DEST_CERT_DIR (dir with ca.crt => TLS verify on)
#      REBUILD=1 (ignore the cached OCI layouts and debootstrap rootfs)
# Cache: $TESTBED_DIR/cache/oci-{busybox,debian} (OCI layouts; re-pushing them gives identical digests)
set -euo pipefail

REG=${1:-127.0.0.1:5000}
WHAT=${2:-all}
TESTBED_DIR=${TESTBED_DIR:-/tmp/testbed}
CACHE=${BASE_CACHE:-$TESTBED_DIR/cache}
mkdir -p "$CACHE"
# test runs in parallel share the cache: one builder at a time
exec 9>"$CACHE/.lock"; flock 9
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

dest_opts=()
if [ -n "${DEST_CERT_DIR:-}" ]; then dest_opts+=(--dest-cert-dir "$DEST_CERT_DIR"); else dest_opts+=(--dest-tls-verify=false); fi
[ -n "${DEST_CREDS:-}" ] && dest_opts+=(--dest-creds "$DEST_CREDS")

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f s", b-a}'; }

push() { # push LAYOUT TAG DEST [extra skopeo args...]
  local layout=$1 tag=$2 dest=$3; shift 3
  skopeo copy -q "$@" "${dest_opts[@]}" "oci:$layout:$tag" "docker://$REG/$dest"
  echo "  pushed $REG/$dest"
}

add_blob() { # add_blob LAYOUT FILE -> prints digest (sha256:...)
  local d; d=$(sha256sum "$2" | cut -d' ' -f1)
  cp "$2" "$1/blobs/sha256/$d"; echo "sha256:$d"
}

busybox() {
  local t0; t0=$(now)
  local L=$CACHE/oci-busybox
  if [ "${REBUILD:-0}" = 1 ] || [ ! -f "$L/index.json" ]; then
    rm -rf "$L" "$CACHE/busybox-rootfs"
    local R=$CACHE/busybox-rootfs
    mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var,home,proc,sys,dev}
    chmod 1777 "$R/tmp"; chmod 700 "$R/root"
    cp /bin/busybox "$R/bin/busybox"            # static binary from Debian busybox-static
    for p in $(/bin/busybox --list-full); do [ -e "$R/$p" ] || ln -s /bin/busybox "$R/$p"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$R/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' > "$R/etc/group"
    umoci init --layout "$L"
    umoci new --image "$L:latest"
    umoci insert --image "$L:latest" "$R" /          # one gzip layer with the whole rootfs
    umoci config --image "$L:latest" --os linux --architecture amd64 \
      --config.env "$PATH_ENV" --config.cmd sh
    # fake arm64 variant (new manifest+config, same layer) and an OCI index over both
    umoci config --image "$L:latest" --tag arm64 --architecture arm64
    local idx=$CACHE/busybox-index.json
    jq -c '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
            manifests: [ .manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest" or
                                               .annotations["org.opencontainers.image.ref.name"] == "arm64")
              | {mediaType, digest, size,
                 platform: {os: "linux", architecture: (if .annotations["org.opencontainers.image.ref.name"] == "arm64" then "arm64" else "amd64" end)}} ]}' \
      "$L/index.json" > "$idx"
    local dg; dg=$(add_blob "$L" "$idx")
    jq --arg d "$dg" --argjson s "$(stat -c %s "$idx")" \
      '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
                       annotations: {"org.opencontainers.image.ref.name": "multiarch"}}]' \
      "$L/index.json" > "$L/index.json.new" && mv "$L/index.json.new" "$L/index.json"
    umoci gc --layout "$L"
  fi
  push "$L" latest library/busybox:latest --format v2s2
  push "$L" latest library/busybox:oci
  push "$L" multiarch library/busybox:multiarch --all
  echo "busybox done in $(took "$t0"); layout $(du -sh "$L" | cut -f1)"
}

debian() {
  local t0; t0=$(now)
  local L=$CACHE/oci-debian R=$CACHE/debian-rootfs
  if [ "${REBUILD:-0}" = 1 ] || [ ! -f "$L/index.json" ]; then
    rm -rf "$L"
    if [ "${REBUILD:-0}" = 1 ] || [ ! -f "$R.complete" ]; then
      rm -rf "$R" "$R.complete"
      # the mirror apt already uses (deb822 sources first, then the one-line format)
      local mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
      [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
      [ -n "$mirror" ] || { echo "no Debian mirror found: set DEBIAN_MIRROR" >&2; exit 1; }
      local t1; t1=$(now)
      debootstrap --variant=minbase bookworm "$R" "$mirror" > "$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
      echo "  debootstrap took $(took "$t1") (log $CACHE/debootstrap.log)"
      # "slim": like the official -slim images, keep copyright files, drop docs/man/locales/apt lists
      mkdir -p "$R/etc/dpkg/dpkg.cfg.d"
      cat > "$R/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
      printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$R/etc/apt/apt.conf.d/docker-norecommends"
      find "$R/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
      find "$R/usr/share/doc" -mindepth 1 -type d -empty -delete
      rm -rf "$R"/usr/share/{man,info,locale,lintian}/* "$R"/var/lib/apt/lists/* \
             "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb "$R"/var/log/*.log \
             "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old
      : > "$R/etc/machine-id"
      rm -rf "$R"/dev/*     # debootstrap mknods /dev/{null,zero,tty,...}; runtimes provide /dev
      touch "$R.complete"   # marker outside the rootfs
    fi
    umoci init --layout "$L"
    umoci new --image "$L:bookworm-slim"
    local t2; t2=$(now)
    umoci insert --image "$L:bookworm-slim" "$R" /   # the whole rootfs as one gzip layer
    echo "  umoci insert (tar+gzip) took $(took "$t2")"
    umoci config --image "$L:bookworm-slim" --os linux --architecture amd64 \
      --config.env "$PATH_ENV" --config.cmd bash
    umoci gc --layout "$L"
  fi
  push "$L" bookworm-slim library/debian:bookworm-slim --format v2s2
  push "$L" bookworm-slim library/debian:bookworm-slim-oci
  echo "debian done in $(took "$t0"); rootfs $(du -sh --exclude=proc "$R" | cut -f1), layout $(du -sh "$L" | cut -f1)"
}

case $WHAT in
  busybox) busybox ;;
  debian) debian ;;
  all) busybox; debian ;;
  *) echo "usage: $0 [REGISTRY] [busybox|debian|all]" >&2; exit 2 ;;
esac
