"""Poison at the parser edge, end to end: impossible trades are refused and counted, a broken
emoji costs nothing, and the good trades around them are alerted exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.app import Application
from tests.e2e.harness import running_bot, settings_for, wait_until
from tests.e2e.test_trade_alerts import alerted_txs, follow, record_upstream
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

BROKEN = "Will \ud83d win?"  # half an emoji: a lone surrogate, escaped on the wire


pytestmark = pytest.mark.polymarket(n_traders=8, seed=13)


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    async with running_bot(
        discord_fake, pool, settings_for(discord_fake, polymarket, rtds.url)
    ) as app:
        await rtds.wait_for_subscribers(1)
        yield app


async def test_poison_trades_are_refused_and_the_good_ones_arrive_once(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = sorted(polymarket.traders)[2]
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    poison = [
        rtds.make_payload(wallet=wallet, price=5.0),  # "500¢"
        rtds.make_payload(wallet=wallet, size=1e308),  # a 309-digit share count
        rtds.make_payload(wallet=wallet, timestamp=4_102_444_800),  # 2100
    ]
    broken = rtds.make_payload(wallet=wallet, title=BROKEN)
    good = rtds.make_payload(wallet=wallet, size=20, price=0.4)
    for payload in [*poison, broken, good]:
        await rtds.push(payload)  # json.dumps escapes the lone surrogate, as the real feed does
    await wait_until(lambda: len(alerted_txs(discord_fake, channel)) >= 2, timeout=10)

    # A wallet whose history has a broken emoji: the fill is stored, not a failed round.
    late = rtds.make_payload(wallet=wallet, title=BROKEN, timestamp=time.time() - 5)
    record_upstream(polymarket, late)
    await app.reconciler.run_round()  # what a reconnect asks for
    await wait_until(lambda: len(alerted_txs(discord_fake, channel)) >= 3, timeout=10)

    expected = [p["transactionHash"].lower() for p in (broken, good, late)]
    assert sorted(alerted_txs(discord_fake, channel)) == sorted(expected)  # each exactly once
    titles = json.dumps([m["embeds"] for m in discord_fake.channel_messages[channel]])
    assert "Will \\ufffd win?" in titles or "Will \ufffd win?" in titles
    assert app.stream.stats.rejected == 3 and app.stream.stats.junk == 0

    interaction = await discord_fake.invoke(
        "admin", subcommand="status", user_id=discord_fake.admin_user_id
    )
    fields = (await interaction.wait_response())["embeds"][0]["fields"]
    live = next(f["value"] for f in fields if f["name"] == "Live trades")
    assert "Rejected upstream values: price 1 · size 1 · timestamp 1" in live
    assert "Database for commands: answering" in live
