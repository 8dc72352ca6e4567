#!/usr/bin/env bash
# Offline stand-ins for the base images Dockerfile.agent names in its build args, so the test suite
# can build the agent image without Docker Hub. Made from this host's own binaries with umoci,
# cached as one OCI layout, and pushed with skopeo:
#
#   make-stand-ins.sh REGISTRY          e.g. 127.0.0.1:40123
#
# Pushes (REGISTRY/...):
#   stand-in/node:latest           for NODE_IMAGE (node:22-bookworm-slim): the host's node at
#                                  /usr/local/bin/node and npm at /usr/local/lib/node_modules/npm (the
#                                  official image's paths), its shared libraries, busybox as /bin/sh,
#                                  and the host's getfattr and setfattr (as if attr were installed).
#   stand-in/jenkins-agent:latest  for JENKINS_AGENT_IMAGE (jenkins/inbound-agent): user jenkins
#                                  (1000:1000), /home/jenkins/{.jenkins,agent}, /usr/share/jenkins/agent.jar,
#                                  JAVA_HOME=/opt/java/openjdk, the same ENV, USER, WORKDIR, VOLUMEs and
#                                  ENTRYPOINT as the real image. Its `java` is a shell script that
#                                  records its argv in /tmp/java-argv and prints it and its parent's name (a JDK is 300 MB; the shim's own
#                                  tests prove the java command with a real JVM), agent.jar is a jar
#                                  with only a manifest. glibc, libstdc++, util-linux's setpriv and
#                                  unshare and coreutils' chroot come from the host, as they come
#                                  from Debian in the real image.
# A busybox stand-in for BUSYBOX_IMAGE is test/support/make-base-images.sh's library/busybox:latest.
#
# env: BASE_CACHE (cache dir)  DEST_CREDS (user:pass)  DEST_CERT_DIR (dir with ca.crt => TLS verify)
#      REBUILD=1 (ignore the cache)
set -euo pipefail
REG=${1:?usage: $0 REGISTRY}
CACHE=${BASE_CACHE:-${TMPDIR:-/tmp}/drydock-base-cache}
mkdir -p "$CACHE"
exec 9>"$CACHE/.agent-stand-ins.lock"; flock 9

NODE=$(readlink -f "$(command -v node)")
NPM_DIR=$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")
BUSYBOX=/bin/busybox
# the layout is rebuilt whenever this script or the binaries it copies change
KEY=$( { cat "$0"; "$NODE" --version; cat "$NPM_DIR/package.json"; sha256sum "$BUSYBOX"; } | sha256sum | cut -c1-16)
L=$CACHE/oci-agent-stand-ins-$KEY
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

dest_opts=()
if [ -n "${DEST_CERT_DIR:-}" ]; then dest_opts+=(--dest-cert-dir "$DEST_CERT_DIR"); else dest_opts+=(--dest-tls-verify=false); fi
[ -n "${DEST_CREDS:-}" ] && dest_opts+=(--dest-creds "$DEST_CREDS")

# a root with busybox as the shell and the host's merged-/usr library layout for the dynamic node
common_root() {
  local R=$1
  mkdir -p "$R"/{usr/bin,usr/sbin,usr/lib,usr/local/bin,etc,root,tmp,var,home,proc,sys,dev}
  chmod 1777 "$R/tmp"; chmod 700 "$R/root"
  for d in bin sbin lib lib64; do
    if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$R/$d"; else mkdir -p "$R/$d"; fi
  done
  cp "$BUSYBOX" "$R/usr/bin/busybox"
  for p in $("$BUSYBOX" --list-full); do
    local dst="$R/$p"
    [ -e "$dst" ] || [ -L "$dst" ] || { mkdir -p "$(dirname "$dst")"; ln -s /usr/bin/busybox "$dst"; }
  done
  copy_libs "$R" "$NODE"
}

# the shared libraries of BINARY (ldd prints "name => /path (addr)" or "/path (addr)") into ROOT
copy_libs() {
  local R=$1 lib dir
  for lib in $(ldd "$2" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    dir=$(readlink -f "$(dirname "$lib")")
    mkdir -p "$R$dir"
    [ -e "$R$dir/$(basename "$lib")" ] || cp -L "$lib" "$R$dir/$(basename "$lib")"
  done
}

# host programs at their host paths (replacing busybox applets), with their libraries
copy_programs() {
  local R=$1 p; shift
  for p in "$@"; do
    p=$(command -v "$p")
    rm -f "$R$p"; cp "$p" "$R$p"
    copy_libs "$R" "$p"
  done
}

build() {
  rm -rf "$L" "$L.tmp"
  local W; W=$(mktemp -d "$CACHE/agent-stand-ins-XXXXXX")
  trap 'rm -rf "$W"' RETURN

  # node
  local N=$W/node
  common_root "$N"
  cp "$NODE" "$N/usr/local/bin/node"
  mkdir -p "$N/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$N/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$N/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$N/usr/local/bin/npx"
  # as if Debian's attr were installed (Dockerfile.agent's xattr-tools stage copies them out)
  copy_programs "$N" getfattr setfattr
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' > "$N/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' > "$N/etc/group"
  mkdir -p "$N/home/node" && chown 1000:1000 "$N/home/node"

  # jenkins/inbound-agent
  local J=$W/jenkins
  common_root "$J"
  # Debian's util-linux and coreutils, which the executor's chroot isolation uses to change user
  copy_programs "$J" setpriv unshare chroot
  printf 'root:x:0:0:root:/root:/bin/sh\njenkins:x:1000:1000:Jenkins user:/home/jenkins:/bin/sh\n' > "$J/etc/passwd"
  printf 'root:x:0:\njenkins:x:1000:\n' > "$J/etc/group"
  mkdir -p "$J/home/jenkins/.jenkins" "$J/home/jenkins/agent" "$J/opt/java/openjdk/bin" "$J/usr/share/jenkins"
  chown -R 1000:1000 "$J/home/jenkins"
  cat > "$J/opt/java/openjdk/bin/java" <<'JAVA'
#!/bin/sh
# Stand-in for the JDK's java (see make-stand-ins.sh): records its argv, one per line.
printf '%s\n' "$@" > /tmp/java-argv
echo "stand-in java: $*"
echo "stand-in java's parent: $(cat /proc/$PPID/comm)"
JAVA
  chmod 755 "$J/opt/java/openjdk/bin/java"
  printf 'Manifest-Version: 1.0\nVersion: 3327.v868139a_d00e0\nMain-Class: hudson.remoting.jnlp.Main\n' > "$W/MANIFEST.MF"
  (cd "$W" && jar cfm "$J/usr/share/jenkins/agent.jar" MANIFEST.MF)
  chmod 644 "$J/usr/share/jenkins/agent.jar"
  ln -s /usr/share/jenkins/agent.jar "$J/usr/share/jenkins/slave.jar"
  # the real image's entrypoint is a bash script; the stand-in only says it is one
  printf '#!/bin/sh\necho "stand-in jenkins/inbound-agent entrypoint: $*"\n' > "$J/usr/local/bin/jenkins-agent"
  chmod 755 "$J/usr/local/bin/jenkins-agent"

  umoci init --layout "$L.tmp"
  umoci new --image "$L.tmp:node"
  umoci insert --image "$L.tmp:node" "$N" /
  umoci config --image "$L.tmp:node" --os linux --architecture amd64 \
    --config.env "$PATH_ENV" --config.env "NODE_VERSION=$("$NODE" --version | tr -d v)" --config.cmd node
  umoci new --image "$L.tmp:jenkins-agent"
  umoci insert --image "$L.tmp:jenkins-agent" "$J" /
  umoci config --image "$L.tmp:jenkins-agent" --os linux --architecture amd64 \
    --config.env "PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.env TZ=Etc/UTC --config.env LANG=C.UTF-8 --config.env JAVA_HOME=/opt/java/openjdk \
    --config.env AGENT_WORKDIR=/home/jenkins/agent --config.env USER=jenkins \
    --config.user jenkins --config.workingdir /home/jenkins \
    --config.volume /home/jenkins/.jenkins --config.volume /home/jenkins/agent \
    --config.entrypoint /usr/local/bin/jenkins-agent
  umoci gc --layout "$L.tmp"
  mv "$L.tmp" "$L"
}

[ -f "$L/index.json" ] && [ "${REBUILD:-0}" != 1 ] || build
for tag in node jenkins-agent; do
  skopeo copy -q "${dest_opts[@]}" "oci:$L:$tag" "docker://$REG/stand-in/$tag:latest"
done
echo "stand-ins pushed to $REG (layout $L)"
