#!/usr/bin/env bash
# One command to run the whole test suite: lint, import rules, types, then unit, integration
# (embedded PostgreSQL) and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
.venv/bin/python -m ruff check bot cogs db scripts tests
.venv/bin/python -m ruff format --check bot cogs db scripts tests
.venv/bin/lint-imports
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest -q "$@"
