#!/usr/bin/env bash
# The layer contracts (pyproject [tool.importlinter]) over kro as a regular install lays it out: grimp reads
# files, not the import hook an editable install uses to map shims/, sandbox/ and democluster/ into kro.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
rm -rf build/layers
"$python" -m pip install -q --disable-pip-version-check --no-deps --no-compile --target build/layers . \
  2> >(grep -v "^WARNING: Location" >&2)
rm -rf build/lib build/bdist.*
lint_imports="$(cd "$(dirname "$python")" && pwd)/lint-imports"
cd build/layers  # import-linter puts the working dir first on sys.path: kro is the laid-out copy
exec "$lint_imports" --config ../../pyproject.toml "$@"
