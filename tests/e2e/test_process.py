"""`python -m bot` as an operator runs it: embedded PostgreSQL, migrations, sync, clean stop;
a second instance on the same data directory is refused, a stop signal during the embedded
PostgreSQL start leaves nothing running, after a SIGKILL the next start adopts the server and a
clean exit stops it, and a PostgreSQL that comes up late is waited for."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import wait_until
from tests.fakes.discord import FakeDiscord
from tests.fakes.pg_link import PostgresLink
from tests.fakes.polymarket import FakePolymarket

REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.polymarket(n_traders=20, seed=5)


class BotProcess:
    """One ``python -m bot`` with its output collected as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_line(self, text: str, timeout: float = 90) -> None:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(text in line for line in self.lines):
            if self.process.returncode is not None or asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no line with {text!r}; output:\n{self.output[-3000:]}")
            await asyncio.sleep(0.05)

    async def finish(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code


async def start_bot(
    data_dir: Path, discord_fake: FakeDiscord, polymarket: FakePolymarket, **extra: str
) -> BotProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        DISCORD_GATEWAY_URL=discord_fake.gateway_url,
        DISCORD_GUILD_IDS=str(discord_fake.guild_id),
        BOT_DATA_DIR=str(data_dir),
        POLYMARKET_DATA_API_URL=polymarket.base_url,
        POLYMARKET_GAMMA_API_URL=polymarket.base_url,
        POLYMARKET_CLOB_API_URL=polymarket.base_url,
        POLYMARKET_RTDS_URL="ws://127.0.0.1:9",
        LEADERBOARD_CANDIDATES="20",
    )
    env.update(extra)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=data_dir.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return BotProcess(process)


def postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def alive(pid: int) -> bool:
    """Running, not a zombie (an orphaned postmaster is reaped by PID 1, which in a container
    may never do it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


async def test_the_bot_process_starts_embedded_postgres_serves_and_stops_cleanly(
    tmp_path: Path, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    data_dir = tmp_path / "data"
    bot = await start_bot(data_dir, discord_fake, polymarket, LEADERBOARD_CANDIDATES="50")
    try:
        await discord_fake.wait_ready(timeout=60)
        await discord_fake.wait_until(
            lambda: discord_fake.guild_commands.get(discord_fake.guild_id), timeout=30
        )
        await wait_until(lambda: polymarket.calls["/positions"] >= 20, timeout=30)
        interaction = await discord_fake.invoke("leaderboard", {"metric": "pnl"})
        message = await interaction.wait_response(timeout=60)
        assert "Polymarket leaderboard" in message["embeds"][0]["title"]
        assert (data_dir / "postgres" / "postmaster.pid").exists()
    finally:
        if bot.process.returncode is None:
            bot.process.send_signal(signal.SIGTERM)
        code = await bot.finish()
    assert code == 0, bot.output[-3000:]
    assert "stopping embedded PostgreSQL" in bot.output
    assert not (data_dir / "postgres" / "postmaster.pid").exists()


async def test_second_instance_refused_and_sigkill_then_restart_recovers(
    tmp_path: Path, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    data_dir = tmp_path / "data"
    first = await start_bot(data_dir, discord_fake, polymarket)
    await first.wait_for_line("Ready: logged in as Polybot")
    ready = next(line for line in first.lines if "Ready: logged in as" in line)
    assert f"client_id={discord_fake.application_id}" in ready
    assert "scope=bot+applications.commands" in ready and "permissions=" in ready

    second = await start_bot(data_dir, discord_fake, polymarket)
    assert await second.finish() == 1
    assert len(second.lines) == 1, second.output
    assert f"Another bot (PID {first.process.pid}) is already running" in second.lines[0]
    assert first.process.returncode is None  # the first one is untouched

    server = postmaster_pid(data_dir)
    assert server is not None and alive(server)
    first.process.kill()  # SIGKILL: no clean-up at all; PostgreSQL keeps running
    await first.finish()
    assert alive(server)

    restarted = await start_bot(data_dir, discord_fake, polymarket)
    await restarted.wait_for_line("Ready: logged in as Polybot")
    assert "adopting it" in restarted.output
    restarted.process.send_signal(signal.SIGTERM)
    assert await restarted.finish() == 0, restarted.output[-3000:]
    assert "Traceback" not in restarted.output
    assert postmaster_pid(data_dir) is None
    await asyncio.sleep(0.5)
    assert not alive(server)  # nothing left running after a clean exit


async def test_sigterm_during_the_embedded_postgres_start_leaves_nothing_running(
    tmp_path: Path, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    data_dir = tmp_path / "data"
    bot = await start_bot(data_dir, discord_fake, polymarket)
    await bot.wait_for_line("starting embedded PostgreSQL")  # initdb and pg_ctl now running
    bot.process.send_signal(signal.SIGTERM)
    assert await bot.finish() == 0, bot.output[-3000:]
    assert "stop requested during start-up" in bot.output
    assert "Traceback" not in bot.output
    assert postmaster_pid(data_dir) is None
    assert discord_fake.identify_count == 0  # it never went on to log in


async def test_postgres_late_at_start_is_waited_for(
    tmp_path: Path, discord_fake: FakeDiscord, polymarket: FakePolymarket, database_url: str
) -> None:
    proxy = PostgresLink(database_url)
    await proxy.start()
    proxy.cut()  # PostgreSQL is not up yet when the bot starts
    bot = await start_bot(tmp_path / "data", discord_fake, polymarket, DATABASE_URL=proxy.dsn)
    try:
        await bot.wait_for_line(f"waiting for PostgreSQL at 127.0.0.1:{proxy.port}…")
        proxy.restore()
        await bot.wait_for_line("Ready: logged in as Polybot")
        waits = [line for line in bot.lines if "waiting for PostgreSQL" in line]
        assert 1 <= len(waits) <= 5 and "Traceback" not in bot.output
    finally:
        if bot.process.returncode is None:
            bot.process.send_signal(signal.SIGTERM)
        assert await bot.finish() == 0, bot.output[-3000:]
        await proxy.stop()
