#!/usr/bin/env bash
# mypy --strict over kro as a regular install lays it out: mypy reads files, not the import hook an
# editable install uses to map shims/, sandbox/ and democluster/ into kro (pyproject, README "Layout").
# Errors name the copies under build/typecheck/kro/; the sources are the same files at their top-level homes.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
rm -rf build/typecheck
"$python" -m pip install -q --disable-pip-version-check --no-deps --no-compile --target build/typecheck . \
  2> >(grep -v "^WARNING: Location" >&2)
rm -rf build/lib build/bdist.*
exec "$python" -m mypy "$@"
