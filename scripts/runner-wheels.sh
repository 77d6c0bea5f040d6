#!/usr/bin/env bash
# Put a wheel of bee and wheels of its base requirements and its sign and web extras (the runner runs,
# verifies signatures, serves metrics over TLS with basic auth; no build or view extras) into
# DIR (default dist/wheels), for the runner image, which installs them with no network (pip
# --no-index). They are fetched for the image's Python (Debian 12: CPython 3.11), whatever Python
# this machine has.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-dist/wheels}
arch=$(uname -m)
rm -rf "$dir" && mkdir -p "$dir"
.venv/bin/python -m pip wheel -q --no-deps -w "$dir" .
.venv/bin/python - > "$dir/requirements.txt" <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["sign"] + project["optional-dependencies"]["web"]))
PY
.venv/bin/python -m pip download -q -d "$dir" --only-binary=:all: --implementation cp --python-version 3.11 \
  --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" --platform "manylinux_2_28_$arch" \
  -r "$dir/requirements.txt"
