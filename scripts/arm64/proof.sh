#!/usr/bin/env bash
# make arm64-proof: bee's arm64 builds, run by bee itself on Debian's arm64 kernel in qemu-system-aarch64
# (tests/arm64): builds opensnoop, exitsnoop and tests/arm64/kprobe_openat2.c for linux/arm64 here,
# boots the VM, and prints the timings and the event lines each test checked. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/arm64/setup.sh
exec .venv/bin/python -m pytest tests/arm64 -s -v -p no:cacheprovider "$@"
