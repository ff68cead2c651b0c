#!/usr/bin/env bash
# mypy --strict over kro as a regular install lays it out (tools/lay_out.sh): mypy reads files, not the
# import hook an editable install uses to map shims/, sandbox/ and democluster/ into kro (README "Layout").
# Errors name the copies under build/typecheck/kro/; the sources are the same files at their top-level homes.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
tools/lay_out.sh typecheck
exec "$python" -m mypy "$@"
