#!/usr/bin/env bash
# What tests/arm64 needs, idempotently (run as root, or with sudo): QEMU for arm64 (Debian's
# qemu-system-arm), apt's lists of arm64 packages, then the cached kernel and base initramfs made
# from Debian's arm64 packages (python -m tests.arm64.vm --prepare; $BEE_ARM64_CACHE, else
# $XDG_CACHE_HOME/bee-arm64). BEE_ARM64_PREPARE=0 leaves the downloads to the first test run.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v qemu-system-aarch64 >/dev/null; then
  echo "setup: installing qemu-system-arm" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup: adding the arm64 architecture to dpkg (for apt-get download of arm64 packages)" >&2
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
fi
if [ "${BEE_ARM64_PREPARE:-1}" != 0 ]; then
  .venv/bin/python -m tests.arm64.vm --prepare
fi
