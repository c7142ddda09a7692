"""Alert delivery end to end against a fake Discord that enforces Discord's rate limits (per
channel and global): no wait without a reason, fairness under a fan-out, never a 429, and one
bad trade or card never costs the good ones."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import discord
import pytest

from bot import alert_sender
from bot.app import Application
from bot.render.alerts import alert_embed
from bot.signals.models import CardContext
from bot.trades.cards import AlertCard
from tests.e2e.harness import streaming_bot, wait_until
from tests.e2e.test_trade_alerts import alerted_txs, follow
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS


@pytest.fixture
async def polymarket() -> AsyncIterator[FakePolymarket]:
    async with FakePolymarket(n_traders=12, seed=22) as fake:
        yield fake


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    discord_fake.rate_limits.enforce_channel_limits = True
    discord_fake.rate_limits.enforce_global_limit = True
    async with streaming_bot(discord_fake, polymarket, rtds, pool) as app:
        yield app


async def status_lines(discord_fake: FakeDiscord) -> str:
    interaction = await discord_fake.invoke(
        "admin", subcommand="status", user_id=discord_fake.admin_user_id
    )
    fields = (await interaction.wait_response())["embeds"][0]["fields"]
    return "\n".join(f["value"] for f in fields if f["name"] in ("Live trades", "Alerts"))


# ---- no wait without a reason ------------------------------------------------------------------


async def test_three_trades_a_second_apart_are_each_posted_at_once(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    """Proved by counts, not by a clock: a post that had to wait is counted where it waited
    (the channel's bucket, or the global budget's gate), and a wait would also have merged a
    trade into the message of the one before."""
    wallet = sorted(polymarket.traders)[0]
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    payloads = [rtds.make_payload(wallet=wallet, size=10 + n, price=0.5) for n in range(3)]
    for n, payload in enumerate(payloads):
        await rtds.push(payload)
        await discord_fake.wait_until(
            lambda n=n: len(discord_fake.channel_messages.get(channel, [])) > n, timeout=5
        )
        await asyncio.sleep(1.0)
    messages = discord_fake.channel_messages[channel]
    assert [len(m["embeds"]) for m in messages] == [1, 1, 1]  # nothing merged: no pressure
    # Each trade in its own message, in the order they were made.
    assert alerted_txs(discord_fake, channel) == [p["transactionHash"].lower() for p in payloads]
    assert app.alerts.stats.sent_messages == 3
    assert app.alerts.stats.bucket_waits == 0  # no message waited for its channel's bucket
    assert app.alerts.global_waits == 0  # nor for a slot of the global budget
    assert discord_fake.rate_limited_count == 0


async def test_an_unrelated_alert_arrives_during_a_300_channel_fan_out_without_a_429(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = sorted(polymarket.traders)[1]
    channels = [await discord_fake.add_channel(f"fan-{n}") for n in range(300)]
    for channel_id in channels:
        await app.follows.follow(
            guild_id=discord_fake.guild_id, channel_id=channel_id, wallet=wallet, label="",
            min_usd=0, side="both", user_id=discord_fake.admin_user_id,
        )  # fmt: skip
    other = sorted(polymarket.traders)[2]
    await follow(discord_fake, other, discord_fake.other_channel_id)
    posted: list[int] = []  # channel of every alert post, in the order Discord stored them
    original = discord_fake._store

    def store(message: dict[str, Any]) -> dict[str, Any]:
        if message.get("embeds"):
            posted.append(int(message["channel_id"]))
        return original(message)

    discord_fake._store = store  # type: ignore[method-assign]
    await rtds.push(rtds.make_payload(wallet=wallet, size=100, price=0.5))
    await wait_until(lambda: len(posted) >= 50, timeout=30)
    await rtds.push(rtds.make_payload(wallet=other, size=100, price=0.5))
    await wait_until(lambda: len(posted) >= 301, timeout=60)
    await asyncio.sleep(0.5)

    assert Counter(posted)[discord_fake.other_channel_id] == 1
    assert sorted(set(posted) - {discord_fake.other_channel_id}) == sorted(channels)
    assert len(posted) == 301  # each exactly once
    # The unrelated alert did not queue behind the 250 fan-out posts still to go.
    assert posted.index(discord_fake.other_channel_id) < 150
    limits = discord_fake.rate_limits
    assert (limits.global_429s, limits.channel_429s) == (0, 0)  # never over Discord's limits


# ---- one bad trade or card never costs the good ones -------------------------------------------


async def test_poison_price_and_timestamp_trades_cost_no_good_trade(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = sorted(polymarket.traders)[3]
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    poison_price = rtds.make_payload(wallet=wallet, size=10, price=1e307)
    poison_time = rtds.make_payload(wallet=wallet, size=10, price=0.5, timestamp=1e20)
    good = [rtds.make_payload(wallet=wallet, size=20 + n, price=0.5) for n in range(4)]
    # Poison first, good right behind it: the same write batch and the same channel queue.
    for payload in (poison_price, good[0], poison_time, good[1], good[2], good[3]):
        await rtds.push(payload)
    expected = {p["transactionHash"].lower() for p in good}
    await wait_until(lambda: set(alerted_txs(discord_fake, channel)) >= expected, timeout=15)
    await asyncio.sleep(0.5)
    counts = Counter(alerted_txs(discord_fake, channel))
    assert set(counts) == expected and max(counts.values()) == 1


async def test_a_card_that_cannot_be_rendered_or_is_too_large_is_set_aside_with_its_reason(
    app: Application,
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wallet = sorted(polymarket.traders)[4]
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    broken = rtds.make_payload(wallet=wallet, size=10, price=0.5)
    huge = rtds.make_payload(wallet=wallet, size=11, price=0.5)
    long_field = rtds.make_payload(wallet=wallet, size=12, price=0.5)
    good = [rtds.make_payload(wallet=wallet, size=30 + n, price=0.5) for n in range(3)]

    def render(card: AlertCard, context: CardContext) -> discord.Embed:
        tx = card.first.transaction_hash
        if tx == broken["transactionHash"].lower():
            raise OverflowError("cannot convert float infinity to integer")
        embed = alert_embed(card, context)
        if tx == huge["transactionHash"].lower():
            for n in range(8):
                embed.add_field(name=f"more {n}", value="x" * 1000)
        if tx == long_field["transactionHash"].lower():
            embed.add_field(name="Long", value="y" * 3000)  # clipped to 1,024, then posted
        return embed

    monkeypatch.setattr(alert_sender, "alert_embed", render)
    for payload in (broken, good[0], huge, good[1], long_field, good[2]):
        await rtds.push(payload)
    expected = {p["transactionHash"].lower() for p in (*good, long_field)}
    await wait_until(lambda: set(alerted_txs(discord_fake, channel)) >= expected, timeout=15)
    await asyncio.sleep(0.5)
    counts = Counter(alerted_txs(discord_fake, channel))
    assert set(counts) == expected and max(counts.values()) == 1
    assert discord_fake.errors == []  # Discord never had to refuse anything
    live = await status_lines(discord_fake)
    assert "cannot be rendered: OverflowError" in live and "card too large" in live


async def test_a_card_discord_refuses_is_split_off_and_the_others_arrive_once(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = sorted(polymarket.traders)[5]
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    payloads = [
        rtds.make_payload(wallet=wallet, size=10 + n, price=0.5, asset=str(n)) for n in range(6)
    ]
    bad = payloads[2]
    discord_fake.refused_embed_texts.add(bad["transactionHash"].lower())
    # A first alert spends the channel's moment; the rest pile up and go as one message.
    discord_fake.force_rate_limit(f"/channels/{channel}/messages", count=1, retry_after=1.0)
    for payload in payloads:
        await rtds.push(payload)
    expected = {p["transactionHash"].lower() for p in payloads if p is not bad}
    await wait_until(lambda: set(alerted_txs(discord_fake, channel)) >= expected, timeout=20)
    await wait_until(lambda: app.alerts.stats.failed_alerts == 1, timeout=20)
    await asyncio.sleep(0.5)
    counts = Counter(alerted_txs(discord_fake, channel))
    assert set(counts) == expected and max(counts.values()) == 1
    assert app.alerts.stats.split_messages >= 1
    assert "Invalid Form Body" in await status_lines(discord_fake)
