#!/usr/bin/env bash
# The offline subset: every test that carries none of the capability markers (root, kernel, clang,
# bpftool, docker, registry; tests/conftest.py; tests marked `kubectl` run: kubectl kustomize works
# offline). It needs no root, no BPF in the kernel, no compiler and no services. Extra arguments go
# to pytest; with CI=true a skip is a failure.
#
# Run as root, it also proves that the subset needs none of them: in a private mount namespace where
# LLVM (clang, llvm-strip) and bpftool are hidden, pytest runs as an unprivileged user
# (BEE_TEST_USER, default nobody), so a test that lacks a marker fails here instead of passing.
# The tree and the Python (PYTHON, default .venv/bin/python) must be readable by that user.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-$PWD/.venv/bin/python}
selection="not root and not kernel and not clang and not bpftool and not docker and not registry and not fuzz"
# bee's own tool lookup (bee.compile.toolchain) then finds no compiler, whatever is installed
no_toolchain=(BEE_CLANG=bee-no-clang BEE_LLVM_STRIP=bee-no-llvm-strip)
pytest=("$python" -m pytest -p no:cacheprovider -m "$selection" "$@")

if [ "$(id -u)" -ne 0 ]; then
  exec env "${no_toolchain[@]}" "${pytest[@]}"
fi

user=${BEE_TEST_USER:-nobody}
home=$(mktemp -d /tmp/bee-offline.XXXXXX)
trap 'rm -rf "$home"' EXIT
chown "$user:$(id -g "$user")" "$home"
as_user=(setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups
         env -u XDG_CACHE_HOME -u XDG_CONFIG_HOME HOME="$home" USER="$user" PYTHONDONTWRITEBYTECODE=1
         "${no_toolchain[@]}")
if ! "${as_user[@]}" test -r "$PWD/tests/conftest.py" -a -x "$python"; then
  echo "test-offline: $user cannot read $PWD or run $python" >&2
  exit 1
fi
echo "test-offline: as $user, without clang, llvm-strip or bpftool: pytest -m \"$selection\"" >&2
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private -- sh -c 'set -e
  for dir in /usr/lib/llvm-*; do
    [ -d "$dir" ] && mount -t tmpfs -o ro,size=4k none "$dir"
  done
  for tool in /usr/sbin/bpftool /usr/local/sbin/bpftool /usr/bin/bpftool /usr/local/bin/bpftool; do
    [ -f "$tool" ] && mount --bind /dev/null "$tool"
  done
  exec "$@"
' sh "${as_user[@]}" "${pytest[@]}"
