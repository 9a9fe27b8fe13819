#!/usr/bin/env bash
# Packs the release binary (dist/switchyard, from scripts/release.sh) into an OCI image without a
# container engine: Debian's umoci writes the image layout, this script decides what goes in. The
# image holds the binary at /usr/local/bin/switchyard, the shared libraries `ldd` lists (each at the
# path ldd gives, so the loader finds them without an ld.so.cache), the dynamic loader, and an
# /etc/passwd naming user 65532, the image's default user. No shell, no package manager, no CA
# certificates (Switchyard talks TLS only to the API server, whose CA the service account provides).
#
# Output: dist/image/ (OCI layout, tagged latest and with the binary's version) and
# dist/switchyard-image.tar (the same layout as an oci-archive). Prints the manifest digest.
# Load it into a node's containerd:
#   ctr -n k8s.io images import --base-name localhost/switchyard dist/switchyard-image.tar
# or push it: skopeo copy oci-archive:dist/switchyard-image.tar docker://REGISTRY/switchyard:TAG
set -euo pipefail
cd "$(dirname "$0")/.."

binary=dist/switchyard
layout=dist/image
archive=dist/switchyard-image.tar
user=65532

if [ ! -x "$binary" ]; then
  echo "image: $binary is missing: build it first with scripts/release.sh" >&2
  exit 1
fi
if ! command -v umoci >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "image: umoci is missing; run as root, or: apt-get install umoci" >&2
    exit 1
  fi
  echo "image: installing umoci" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci >/dev/null 2>&1
fi
rootless=()
[ "$(id -u)" -eq 0 ] || rootless=(--rootless)

version=$("$binary" --version)
case $(uname -m) in
  x86_64) architecture=amd64 ;;
  aarch64) architecture=arm64 ;;
  *) architecture=$(uname -m) ;;
esac
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)

staging=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-image.XXXXXX")
trap 'rm -rf "$staging"' EXIT
rootfs=$staging/rootfs

# The binary and every library it loads, at the paths the loader will look for them. ldd prints
# "name => /path (address)" for libraries and "/path (address)" for the loader; linux-vdso has no file.
install -D -m 0755 "$binary" "$rootfs/usr/local/bin/switchyard"
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if [ -z "$libraries" ]; then
  echo "image: ldd listed no libraries for $binary: is it a dynamically linked ELF for this machine?" >&2
  exit 1
fi
for library in $libraries; do
  install -D -m 0755 "$(readlink -f "$library")" "$rootfs$library"
done
# A name for the image's user, so tools that look the uid up (and logs) do not stumble; /tmp for
# anything that insists on one (the manifests mount the root read-only).
mkdir -p "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/:/sbin/nologin\nswitchyard:x:%s:%s:switchyard:/:/sbin/nologin\n' "$user" "$user" \
  > "$rootfs/etc/passwd"
printf 'root:x:0:\nswitchyard:x:%s:\n' "$user" > "$rootfs/etc/group"

rm -rf "$layout" "$archive"
umoci init --layout "$layout"
umoci new --image "$layout:latest"
umoci insert "${rootless[@]}" --image "$layout:latest" --history.created_by "scripts/image.sh" "$rootfs" /
labels=(
  org.opencontainers.image.title=switchyard
  "org.opencontainers.image.description=Switchyard XDP L4 load balancer: controller and LB-node agent"
  org.opencontainers.image.version="$version"
  org.opencontainers.image.revision="$revision"
  org.opencontainers.image.created="$created"
)
config=(--config.entrypoint /usr/local/bin/switchyard --config.user "$user:$user" --config.workingdir /
  --config.env PATH=/usr/local/bin:/usr/bin:/bin --architecture "$architecture" --os linux --created "$created"
  --author switchyard)
for label in "${labels[@]}"; do
  config+=(--config.label "$label" --manifest.annotation "$label")
done
umoci config "${rootless[@]}" --image "$layout:latest" "${config[@]}" --history.created_by "scripts/image.sh"
umoci tag --image "$layout:latest" "$version"
umoci gc --layout "$layout"
chmod -R a+rX "$layout"

# oci-archive: the layout itself, as a tar (what skopeo, podman and ctr import read).
tar -C "$layout" --sort=name --owner=0 --group=0 --numeric-owner -cf "$archive" .

digest=$(python3 -c '
import json, sys
index = json.load(open(sys.argv[1] + "/index.json"))
print(next(m["digest"] for m in index["manifests"]
           if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"))
' "$layout")
echo "image: $layout:latest ($version, $architecture) $digest"
echo "image: $archive $(du -h "$archive" | cut -f1)"
