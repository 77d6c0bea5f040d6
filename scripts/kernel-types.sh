#!/usr/bin/env bash
# Download the Debian cloud kernel packages of amd64 and arm64 that the mirror has now, and remake bee's
# pinned kernel types from them (scripts/kernel_types.py). Run as root: it adds the arm64 dpkg architecture.
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
command -v lz4 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lz4 >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debs=()
for arch in amd64 arm64; do
  package=$(apt-cache depends "linux-image-cloud-$arch:$arch" | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)/\1/p' | head -1)
  (cd "$work" && apt-get download -qq "$package" 2>/dev/null)
  debs+=("$work"/"${package%%:*}"_*.deb)
done
python3 scripts/kernel_types.py "${debs[@]}"
git --no-pager diff --stat -- bee/compile/types || true
