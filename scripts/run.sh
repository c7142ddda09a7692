#!/usr/bin/env bash
# One command to run the bot: sets up .venv, then `python -m bot` (which starts an embedded
# PostgreSQL under BOT_DATA_DIR when DATABASE_URL is unset, migrates, syncs commands and runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m bot "$@"
