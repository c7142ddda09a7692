from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

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


def with_database(dsn: str, *, user: str | None = None, database: str | None = None) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc if user is None else f"{user}@" + parts.netloc.split("@")[-1]
    path = parts.path if database is None else f"/{database}"
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


@pytest.mark.parametrize("wrong", ["database", "user"])
def test_a_wrong_database_url_is_one_line_at_once(
    tmp_path: Path, pg_server: str, wrong: str
) -> None:
    dsn = (
        with_database(pg_server, database="no_such_database")
        if wrong == "database"
        else with_database(pg_server, user="no_such_role")
    )
    started = time.monotonic()
    result = run_bot(tmp_path, DISCORD_TOKEN="x", DATABASE_URL=dsn, DATABASE_WAIT_SECONDS="30")
    assert time.monotonic() - started < 20  # at once: no waiting for a fix that cannot come
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused DATABASE_URL" in lines[0] and "does not exist" in lines[0]


def test_an_unreachable_database_is_waited_for_then_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_bot(
        tmp_path,
        DISCORD_TOKEN="x",
        DATABASE_URL=f"postgresql://bot:secret@127.0.0.1:{port}/bot",
        DATABASE_WAIT_SECONDS="2.5",
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    waiting = [line for line in lines if f"waiting for PostgreSQL at 127.0.0.1:{port}…" in line]
    assert len(waiting) >= 2 and len(lines) == len(waiting) + 1, result.stderr
    assert lines[-1].startswith("Cannot start: PostgreSQL at 127.0.0.1:")
    assert "within 2.5s" in lines[-1] and "secret" not in result.stderr


def test_an_unwritable_data_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_bot(tmp_path, DISCORD_TOKEN="x", BOT_DATA_DIR=str(blocker / "data"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "BOT_DATA_DIR=" in lines[0] and "writable" in lines[0]


def test_discord_unreachable_is_one_line(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_bot(
        tmp_path,
        DISCORD_TOKEN="x",
        DATABASE_URL=database_url,
        DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10",
        DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{port}/gateway",
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Cannot start: Discord is unreachable at http://127.0.0.1:")


def test_library_tracebacks_become_one_line() -> None:
    from bot.__main__ import without_traceback

    try:
        raise ConnectionRefusedError(111, "Connect call failed")
    except OSError:
        record = logging.LogRecord(
            "asyncpg.pool", logging.WARNING, "", 0, "Failed to %s", ("restore",), sys.exc_info()
        )
    assert without_traceback(record) and record.exc_info is None
    assert logging.Formatter().format(record) == (
        "Failed to restore (ConnectionRefusedError: [Errno 111] Connect call failed)"
    )
