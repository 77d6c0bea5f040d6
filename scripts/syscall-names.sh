#!/usr/bin/env bash
# Download Debian's linux-libc-dev of amd64 and arm64 (the version the mirror has now) and remake bee's
# system call name tables from them (scripts/syscall_names.py). Run as root: it adds the arm64 dpkg architecture.
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chown _apt "$work" 2>/dev/null || true  # apt downloads as _apt when it can write there
(cd "$work" && apt-get download -qq linux-libc-dev:amd64 linux-libc-dev:arm64)
python3 scripts/syscall_names.py "$work"/linux-libc-dev_*_amd64.deb "$work"/linux-libc-dev_*_arm64.deb
git --no-pager diff --stat -- bee/decode/syscalls || true
