#!/usr/bin/env bash
# The checks `make lint` and `make test` (hence CI) run: ruff, the import contracts (import-linter,
# [tool.importlinter] in pyproject.toml) and mypy ([tool.mypy]). All three run; any failure fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
.venv/bin/ruff check bee tests bench fuzz || status=1
.venv/bin/lint-imports --no-logo || status=1
.venv/bin/mypy || status=1
exit $status
