#!/usr/bin/env bash
# Run the whole suite with the project's virtualenv. Extra arguments go to pytest.
# With CI=true, a test that would be skipped for a missing capability fails instead.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check bee tests || exit 1
.venv/bin/python -m pytest -ra "$@"
