#!/usr/bin/env bash
# Lay kro out under build/$1 as a regular install does: mypy and import-linter read files, not the import
# hook an editable install uses to map shims/, sandbox/ and democluster/ into kro (pyproject, README "Layout").
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
rm -rf "build/$1"
"$python" -m pip install -q --disable-pip-version-check --no-deps --no-compile --target "build/$1" . \
  2> >(grep -v "^WARNING: Location" >&2)
rm -rf build/lib build/bdist.*
