"""scripts/run.sh stops before any set-up when no token is to be found, wherever the operator
keeps the settings (``.env`` or the file ``BOT_ENV_FILE`` names)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_without_a_token_in_the_named_settings_file_it_says_which_file_and_exits_2(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "bot.env"
    settings.write_text("LOG_LEVEL=INFO\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    env["BOT_ENV_FILE"] = str(settings)
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "run.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr and str(settings) in result.stderr
