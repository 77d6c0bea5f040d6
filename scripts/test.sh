#!/usr/bin/env bash
# Lint (scripts/lint.sh, as `make lint`), then run the whole suite with the project's virtualenv.
# Extra arguments go to pytest. With CI=true, a test that would be skipped for a missing capability
# fails instead.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/lint.sh || exit 1
.venv/bin/python -m pytest -ra "$@"
