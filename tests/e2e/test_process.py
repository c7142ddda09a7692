"""`python -m bot` as an operator runs it: embedded PostgreSQL, migrations, sync, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.harness import wait_until
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket

REPO = Path(__file__).resolve().parents[2]


async def test_the_bot_process_starts_embedded_postgres_serves_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    discord_fake = FakeDiscord()
    polymarket = FakePolymarket(n_traders=20, seed=5)
    await discord_fake.start()
    await polymarket.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        DISCORD_GATEWAY_URL=discord_fake.gateway_url,
        DISCORD_GUILD_IDS=str(discord_fake.guild_id),
        BOT_DATA_DIR=str(tmp_path / "data"),
        POLYMARKET_DATA_API_URL=polymarket.base_url,
        POLYMARKET_GAMMA_API_URL=polymarket.base_url,
        POLYMARKET_CLOB_API_URL=polymarket.base_url,
        LEADERBOARD_CANDIDATES="50",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await discord_fake.wait_ready(timeout=60)
        await discord_fake.wait_until(
            lambda: discord_fake.guild_commands.get(discord_fake.guild_id), timeout=30
        )
        await wait_until(lambda: polymarket.calls["/positions"] >= 20, timeout=30)
        interaction = await discord_fake.invoke("leaderboard", {"metric": "pnl"})
        message = await interaction.wait_response(timeout=60)
        assert "Polymarket leaderboard" in message["embeds"][0]["title"]
        assert (tmp_path / "data" / "postgres" / "postmaster.pid").exists()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 60)
        await polymarket.stop()
        await discord_fake.stop()
    log = output.decode(errors="replace")
    assert process.returncode == 0, log[-3000:]
    assert "stopping embedded PostgreSQL" in log
    assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists()
