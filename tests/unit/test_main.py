from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    clean.update(env, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_token_it_stops_at_once_with_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_bot(tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0] and ".env" in lines[0]
    assert not (tmp_path / "data").exists()  # nothing was started


def test_a_bad_setting_is_named(tmp_path: Path) -> None:
    result = run_bot(tmp_path, DISCORD_TOKEN="x", LEADERBOARD_REFRESH_SECONDS="soon")
    assert result.returncode == 2
    assert "LEADERBOARD_REFRESH_SECONDS" in result.stderr
