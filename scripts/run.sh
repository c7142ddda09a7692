#!/usr/bin/env bash
# One command to run the bot: sets up .venv, then `python -m bot` (which starts an embedded
# PostgreSQL under BOT_DATA_DIR when DATABASE_URL is unset, migrates, syncs commands and runs).
set -euo pipefail
cd "$(dirname "$0")/.."
env_file="${BOT_ENV_FILE:-.env}"
if [ -z "${DISCORD_TOKEN:-}" ] && ! grep -Eq '^[[:space:]]*DISCORD_TOKEN=[^[:space:]]+' "$env_file" 2>/dev/null; then
  echo "DISCORD_TOKEN is not set: create an application at https://discord.com/developers/applications, add a bot, copy its token into $env_file as DISCORD_TOKEN=..., and run again." >&2
  exit 2
fi
bash scripts/setup.sh
exec .venv/bin/python -m bot "$@"
