"""The bot process killed (SIGKILL) in the middle of a burst: no alert lost, none doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from tests.e2e.harness import wait_until
from tests.e2e.test_trade_alerts import alerted_txs, record_upstream
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

REPO = Path(__file__).resolve().parents[2]


async def start_bot(
    database_url: str, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=database_url,
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        DISCORD_GATEWAY_URL=discord_fake.gateway_url,
        DISCORD_GUILD_IDS=str(discord_fake.guild_id),
        POLYMARKET_DATA_API_URL=polymarket.base_url,
        POLYMARKET_GAMMA_API_URL=polymarket.base_url,
        POLYMARKET_CLOB_API_URL=polymarket.base_url,
        POLYMARKET_RTDS_URL=rtds.url,
        LEADERBOARD_CANDIDATES="20",
        HTTP_MAX_RETRIES="1",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_killed_mid_burst_then_restarted_alerts_every_trade_once(
    database_url: str,
) -> None:
    discord_fake = FakeDiscord(interaction_timeout=None)
    polymarket = FakePolymarket(n_traders=8, seed=4)
    rtds = FakeRTDS()
    for fake in (discord_fake, polymarket, rtds):
        await fake.start()
    first = second = None
    try:
        first = await start_bot(database_url, discord_fake, polymarket, rtds)
        await discord_fake.wait_ready(timeout=30)
        await discord_fake.wait_until(
            lambda: discord_fake.guild_commands.get(discord_fake.guild_id), timeout=30
        )
        await rtds.wait_for_subscribers(1, timeout=30)
        wallet = sorted(polymarket.traders)[0]
        channel = discord_fake.other_channel_id
        interaction = await discord_fake.invoke(
            "follow", {"trader": wallet, "channel": channel}, user_id=discord_fake.admin_user_id
        )
        assert "Following" in (await interaction.wait_response(timeout=10))["content"]

        burst = [rtds.make_payload(wallet=wallet, size=10 + i, price=0.5) for i in range(40)]
        for index, payload in enumerate(burst):
            record_upstream(polymarket, payload)  # it happened on Polymarket either way
            if first.returncode is None:
                await rtds.push(payload)
            if index == 15:
                await wait_until(lambda: len(alerted_txs(discord_fake, channel)) >= 3, 10)
                first.send_signal(signal.SIGKILL)  # no cleanup, no flush
                await first.wait()
            await asyncio.sleep(0.01)

        second = await start_bot(database_url, discord_fake, polymarket, rtds)
        expected = {p["transactionHash"].lower() for p in burst}
        await wait_until(lambda: set(alerted_txs(discord_fake, channel)) >= expected, 45)
        await asyncio.sleep(1.0)  # any duplicate would show up now
        counts = Counter(alerted_txs(discord_fake, channel))
        assert set(counts) == expected
        assert max(counts.values()) == 1, [tx for tx, n in counts.items() if n > 1]
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
        for fake in (rtds, polymarket, discord_fake):
            await fake.stop()
