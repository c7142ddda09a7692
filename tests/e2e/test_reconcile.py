"""What the live stream misses, found end to end: fake RTDS + fake Data API -> the real bot ->
fake Discord, with PostgreSQL. Reconciliation runs every second here (RECONCILE_SECONDS=1)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.app import Application
from tests.e2e.harness import streaming_bot, wait_until
from tests.e2e.test_trade_alerts import alert_embeds, alerted_txs, follow, record_upstream
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket, FakeTrader
from tests.fakes.rtds import FakeRTDS

RECONCILE_SECONDS = 1.0
MARGIN = 15.0  # seconds beyond RECONCILE_SECONDS and the stream's grace, for a loaded machine


@pytest.fixture
async def polymarket() -> AsyncIterator[FakePolymarket]:
    async with FakePolymarket(n_traders=12, seed=21) as fake:
        yield fake


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    async with streaming_bot(
        discord_fake, polymarket, rtds, pool, reconcile_seconds=RECONCILE_SECONDS
    ) as app:
        yield app


def delayed(discord_fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [
        e
        for e in alert_embeds(discord_fake, channel_id)
        if "Delayed" in e.get("footer", {}).get("text", "")
    ]


async def live_then_while_down(
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    channel: int,
    wallet: str,
    *,
    sizes: tuple[float, float],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A trade of ``wallet`` the stream delivers, then the socket drops and refuses to come
    back for a moment while a big trade and a $50 one are made. Returns (live, while down)
    once both are alerted, each once, and later rounds had their chance to alert again."""
    live = rtds.make_payload(wallet=wallet, size=sizes[0], price=0.5)
    record_upstream(polymarket, live)
    await rtds.push(live)
    await discord_fake.wait_until(lambda: alerted_txs(discord_fake, channel), timeout=10)

    rtds.refuse_connections(True)
    await rtds.drop_all()
    while_down = rtds.make_payload(wallet=wallet, size=sizes[1], price=0.5)
    small = rtds.make_payload(wallet=wallet, size=100, price=0.5)  # too small for any watch
    for payload in (while_down, small):
        record_upstream(polymarket, payload)
    # Down for longer than Polymarket's whole-second stamps blur: a fill stamped within a
    # second of the reconnect could still be on its way, so it would count as a miss.
    await asyncio.sleep(1.5)
    rtds.refuse_connections(False)
    await rtds.wait_for_subscribers(1, timeout=10)

    expected = [live["transactionHash"].lower(), while_down["transactionHash"].lower()]
    await wait_until(
        lambda: len(alerted_txs(discord_fake, channel)) >= 2, timeout=RECONCILE_SECONDS + MARGIN
    )
    await asyncio.sleep(2 * RECONCILE_SECONDS)
    assert sorted(alerted_txs(discord_fake, channel)) == sorted(expected)  # once each
    return live, while_down


def assert_platform_checked_at(polymarket: FakePolymarket, threshold: float) -> None:
    """The gap was covered by platform-wide /trades queries, cash-filtered at ``threshold``."""
    platform = [q for key, q in polymarket.queries if key == "/trades" and "user" not in q]
    assert platform and all(
        q["filterType"] == "CASH" and float(q["filterAmount"]) == threshold for q in platform
    )


async def test_a_fill_the_stream_never_sends_is_alerted_once_marked_delayed(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = sorted(polymarket.traders)[0]
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    missed = rtds.make_payload(wallet=wallet, size=120, price=0.4)
    record_upstream(polymarket, missed)  # it happened on Polymarket; RTDS never sends it
    stranger = "0x" + "ab" * 20

    async def other_traffic() -> None:  # the stream stays busy and healthy meanwhile
        while True:
            await rtds.push(rtds.make_payload(wallet=stranger, size=5, price=0.5))
            await asyncio.sleep(0.1)

    traffic = asyncio.create_task(other_traffic())
    try:
        await wait_until(
            lambda: alerted_txs(discord_fake, channel), timeout=RECONCILE_SECONDS + MARGIN
        )
        await asyncio.sleep(2 * RECONCILE_SECONDS)  # later rounds must not alert it again
    finally:
        traffic.cancel()
    assert alerted_txs(discord_fake, channel) == [missed["transactionHash"].lower()]
    assert len(delayed(discord_fake, channel)) == 1
    assert app.stream.stats.reconnects == 0  # no silence, no reconnect: a miss while healthy
    assert app.reconciler.stats.missed_while_connected == 1

    interaction = await discord_fake.invoke(
        "admin", subcommand="status", user_id=discord_fake.admin_user_id
    )
    fields = {
        f["name"]: f["value"] for f in (await interaction.wait_response())["embeds"][0]["fields"]
    }
    assert "missed by the stream 1" in fields["Live trades"]
    assert "Reconcile: round " in fields["Live trades"]


async def test_a_reconnect_storm_runs_one_pass_at_a_time_and_loses_or_doubles_nothing(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = sorted(polymarket.traders)[1]
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    polymarket.latency = 0.2  # each check takes a while: reconnects land inside rounds
    made: list[dict[str, Any]] = []
    stranger = "0x" + "ab" * 20
    for n in range(10):  # ten drops in a row, a fill on Polymarket during each gap
        await rtds.drop_all()
        payload = rtds.make_payload(wallet=wallet, size=10 + n, price=0.5)
        record_upstream(polymarket, payload)
        made.append(payload)
        await rtds.wait_for_subscribers(1, timeout=10)
        # Someone else's trade arrives: a working connection (its backoff starts over).
        await rtds.push(rtds.make_payload(wallet=stranger, size=5, price=0.5))
    expected = {p["transactionHash"].lower() for p in made}
    await wait_until(
        lambda: set(alerted_txs(discord_fake, channel)) >= expected,
        timeout=RECONCILE_SECONDS + MARGIN,
    )
    await asyncio.sleep(2 * RECONCILE_SECONDS)
    counts = Counter(alerted_txs(discord_fake, channel))
    assert set(counts) == expected and max(counts.values()) == 1
    stats = app.reconciler.stats
    assert app.stream.stats.reconnects >= 10
    # Each round checks each wallet once, so requests for the wallet are no more than rounds:
    # the reconnects joined rounds instead of queueing ten backfills behind each other.
    checks = sum(1 for key, q in polymarket.queries if key == "/trades" and q.get("user") == wallet)
    assert checks <= stats.rounds + 1
    assert stats.coalesced >= 1


async def test_a_whale_trade_made_while_the_socket_was_down_is_alerted_once_after_it_returns(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    channel = discord_fake.other_channel_id
    interaction = await discord_fake.invoke(
        "whales", {"channel": channel, "min_usd": 5000}, user_id=discord_fake.admin_user_id
    )
    assert "Whale alerts on" in (await interaction.wait_response())["content"]
    whale_wallet = "0x" + "cd" * 20
    polymarket.add_trader(FakeTrader(whale_wallet, "", {}, {}))
    await live_then_while_down(
        discord_fake, polymarket, rtds, channel, whale_wallet, sizes=(20_000, 30_000)
    )
    assert len(delayed(discord_fake, channel)) == 1
    assert_platform_checked_at(polymarket, 5000)
    assert app.reconciler.stats.platform_recovered == 1
    assert time.time() - app.reconciler.stats.last_round_at < MARGIN  # rounds keep coming


async def test_a_signal_trade_made_while_the_socket_was_down_is_alerted_once_after_it_returns(
    app: Application,
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    pool: asyncpg.Pool,
) -> None:
    channel = discord_fake.other_channel_id
    newcomer = "0x" + "5e" * 20
    polymarket.add_account(newcomer, time.time() - 3 * 86_400)
    polymarket.add_trader(FakeTrader(newcomer, "", {}, {}))
    # Made before the signal was switched on: history, never an alert.
    history = rtds.make_payload(wallet=newcomer, size=8_000, price=0.5, timestamp=time.time() - 600)
    record_upstream(polymarket, history)
    interaction = await discord_fake.invoke(
        "signals",
        {"kind": "fresh", "channel": channel, "min_usd": 1000},
        user_id=discord_fake.admin_user_id,
    )
    assert "Fresh signals on" in (await interaction.wait_response())["content"]
    live, while_down = await live_then_while_down(
        discord_fake, polymarket, rtds, channel, newcomer, sizes=(4_000, 6_000)
    )
    [late] = delayed(discord_fake, channel)
    assert late["title"].startswith("🆕 $3K BUY Yes")
    assert while_down["transactionHash"].lower() in str(late["fields"])
    assert_platform_checked_at(polymarket, 1000)
    rows = await pool.fetch(
        "SELECT t.transaction_hash, t.source, d.delayed FROM trades t"
        " JOIN alert_deliveries d USING (trade_key) WHERE t.wallet = $1",
        newcomer,
    )
    assert {tuple(r) for r in rows} == {
        (live["transactionHash"].lower(), "stream", False),
        (while_down["transactionHash"].lower(), "backfill", True),
    }  # the history was not alerted anywhere
