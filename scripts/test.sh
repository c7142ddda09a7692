#!/usr/bin/env bash
# One command to run the whole test suite (unit, integration on embedded PostgreSQL, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m ruff check bot cogs db scripts tests
exec .venv/bin/python -m pytest -q "$@"
