#!/usr/bin/env bash
# Install (as root, Debian 12) the system packages the test suite and benchmarks use. Idempotent:
# does nothing (and needs no network) when everything is there. Run by `npm test` (pretest).
# runc: podman's default crun cannot start containers on hosts with hybrid cgroups.
# apache2-utils: `htpasswd -B` (the registry accepts only bcrypt). time: GNU time, the benchmark's peak RSS.
set -euo pipefail
pkgs=(docker-registry skopeo umoci busybox-static buildah podman runc uidmap debootstrap
      netavark aardvark-dns catatonit iptables jq curl openssl apache2-utils ca-certificates
      groovy default-jdk-headless attr zstd git openssh-client gcc libc6-dev time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
