#!/usr/bin/env bash
# The layer contracts (pyproject [tool.importlinter]) over kro as a regular install lays it out
# (tools/lay_out.sh): grimp reads files, not the import hook an editable install maps folders with.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
lint_imports="$(cd "$(dirname "$python")" && pwd)/lint-imports"
tools/lay_out.sh layers
cd build/layers  # import-linter puts the working dir first on sys.path: kro is the laid-out copy
exec "$lint_imports" ../../pyproject.toml "$@"
