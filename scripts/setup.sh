#!/usr/bin/env bash
# Creates .venv and installs a requirements file (default requirements.txt, the runtime only;
# the test command passes requirements-dev.txt). Skipped when that file did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
requirements="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.$(basename "$requirements").sha256"
want=$(cat "$requirements" requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$requirements"
  echo "$want" > "$stamp"
fi
