#!/usr/bin/env bash
# Install what bee and its tests need, idempotently: Debian/Ubuntu packages and a
# virtualenv (.venv) with bee installed in editable mode. Run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  clang llvm libbpf1 libbpf-dev bpftool        # compiling and inspecting BPF programs
  debootstrap                                  # the base image, where Docker Hub is out of reach
  python3 python3-venv python3-pip             # the virtualenv bee runs in
  iproute2 make binutils util-linux            # netns/veth and tc, make, objdump, unshare/setpriv
  docker.io docker-registry tmux               # container builds, a local OCI registry, TUI tests
  prometheus                                   # a real Prometheus (and promtool) scraping runners in the tests
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# kubectl renders deploy/kubernetes in the tests (kubectl kustomize). Any kubectl will do: the one these
# machines come with, else Debian's kubernetes-client (kubectl 1.20: its older kustomize is untested here).
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.bee-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing bee into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[all,test]'  # every extra: the tests drive every command
  echo "$want" > "$stamp"
fi
