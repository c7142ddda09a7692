"""TradeIngest against real PostgreSQL: idempotent storage, deliveries, back-pressure, backfill.

The promises under test: a followed wallet's trade is never lost (not to a full queue, not to a
database outage) and never alerted twice (not for a duplicate frame, a retry or a backfill).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from bot.events import EventBus, StoredTrade, TradesStored
from bot.polymarket.records import Trade, trade_key
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from db import trade_queries

FOLLOWED = "0x" + "f" * 40
OTHER = "0x" + "e" * 40
GUILD = 1
_tx_numbers = itertools.count(1)

IngestFactory = Callable[..., TradeIngest]


def make_trade(
    *,
    wallet: str = FOLLOWED,
    usd: float = 100.0,
    price: float = 0.5,
    side: str = "BUY",
    ago: float = 5.0,
    name: str = "",
) -> Trade:
    """A fill worth ``usd``, ``ago`` seconds old (follows only alert from their creation on)."""
    tx = f"0x{next(_tx_numbers):064x}"
    size = usd / price
    return Trade(
        key=trade_key(tx, wallet, "asset-yes", side, size, price),
        wallet=wallet,
        asset="asset-yes",
        condition_id="0x" + "c" * 64,
        side=side,
        size=size,
        price=price,
        timestamp=time.time() - ago,
        transaction_hash=tx,
        outcome="Yes",
        title="Will it rain?",
        slug="will-it-rain",
        event_slug="rain",
        name=name,
        pseudonym="",
    )


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def trade_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT trade_key, wallet, source FROM trades ORDER BY traded_at")


async def delivery_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT trade_key, channel_id, guild_id, kind, follow_id, delayed, status"
        " FROM alert_deliveries ORDER BY channel_id, trade_key"
    )


@pytest.fixture
def notified() -> list[set[int]]:
    """What the ingest told the dispatcher: one set of channels per store that made deliveries."""
    return []


@pytest.fixture
async def make_ingest(
    pool: asyncpg.Pool, follows: FollowService, notified: list[set[int]]
) -> AsyncIterator[IngestFactory]:
    made: list[TradeIngest] = []

    def build(**kw: Any) -> TradeIngest:
        kw.setdefault("retry_delay", 0.01)
        ingest = TradeIngest(pool, follows, EventBus(), on_deliveries=notified.append, **kw)
        made.append(ingest)
        return ingest

    yield build
    for ingest in made:
        await ingest.stop()


async def follow(
    follows: FollowService,
    channel_id: int,
    wallet: str = FOLLOWED,
    *,
    min_usd: float = 0.0,
    side: str = "both",
) -> int:
    created = await follows.follow(
        guild_id=GUILD,
        channel_id=channel_id,
        wallet=wallet,
        label="",
        min_usd=min_usd,
        side=side,
        user_id=99,
    )
    return created.id


# ---- idempotent storage ------------------------------------------------------------------------


async def test_the_same_fill_is_one_row_and_one_alert_however_often_it_arrives(
    pool: asyncpg.Pool,
    follows: FollowService,
    make_ingest: IngestFactory,
    notified: list[set[int]],
) -> None:
    follow_id = await follow(follows, 10)
    ingest = make_ingest()
    bus_counts = ingest._bus.published
    trade = make_trade()

    # trades + orders_matched frames of one fill in the same batch...
    assert await ingest.store([trade, trade], "stream") == [trade]
    # ...the same frame again after a reconnect, in a later batch...
    assert await ingest.store([trade], "stream") == []
    # ...and the gap backfill that fetches it from the Data API.
    assert await ingest.store([trade], "backfill") == []

    assert [(r["trade_key"], r["source"]) for r in await trade_rows(pool)] == [
        (trade.key, "stream")
    ]
    deliveries = await delivery_rows(pool)
    assert [(d["channel_id"], d["follow_id"], d["delayed"]) for d in deliveries] == [
        (10, follow_id, False)
    ]
    assert notified == [{10}]  # the dispatcher is woken for new deliveries only
    assert ingest.stats.stored == 1 and ingest.stats.duplicates == 3
    assert ingest.stats.deliveries == 1
    assert bus_counts["TradesStored"] == 1


async def test_a_stored_batch_is_one_event_naming_each_new_trade_in_the_order_written(
    make_ingest: IngestFactory,
) -> None:
    ingest = make_ingest()
    seen: list[TradesStored] = []

    async def record(event: TradesStored) -> None:
        seen.append(event)

    ingest._bus.subscribe(TradesStored, record)
    old = make_trade()
    assert await ingest.store([old], "stream") == [old]
    trades = [make_trade(wallet=wallet) for wallet in (FOLLOWED, OTHER, FOLLOWED, OTHER, OTHER)]
    new = await ingest.store([*trades, old, trades[0]], "backfill")  # duplicates: not new
    assert sorted(new, key=lambda t: t.key) == new and len(new) == 5
    assert await ingest.store([old, *trades], "stream") == []  # nothing new: no event
    await ingest._bus.drain()
    assert ingest._bus.published["TradesStored"] == 2
    assert seen[1] == TradesStored(tuple(StoredTrade(t.wallet, t.key) for t in new))
    assert set(seen[1].wallets) == {FOLLOWED, OTHER}


async def test_one_delivery_per_target_and_backfilled_ones_are_delayed(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    buyer_channel = await follow(follows, 10)
    seller_channel = await follow(follows, 20, side="sell")
    await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=150, include_near_certain=False, user_id=99
    )
    # The follow wins in channel 10 even though the watch there would take the trade as well.
    await follows.set_whales(
        guild_id=GUILD, channel_id=10, min_usd=1, include_near_certain=False, user_id=99
    )
    ingest = make_ingest()
    live_buy = make_trade(usd=200)
    missed_sell = make_trade(usd=100, side="SELL")
    whale_only = make_trade(wallet=OTHER, usd=500)

    await ingest.store([live_buy, whale_only], "stream")
    await ingest.store([missed_sell], "backfill")

    got = {(d["trade_key"], d["channel_id"]): d for d in await delivery_rows(pool)}
    expected = {
        (live_buy.key, 10): ("follow", buyer_channel, False),
        (live_buy.key, 30): ("whale", None, False),
        (missed_sell.key, 10): ("follow", buyer_channel, True),
        (missed_sell.key, 20): ("follow", seller_channel, True),
        (whale_only.key, 10): ("whale", None, False),
        (whale_only.key, 30): ("whale", None, False),
    }
    assert {k: (d["kind"], d["follow_id"], d["delayed"]) for k, d in got.items()} == expected
    assert {d["status"] for d in got.values()} == {"PENDING"}
    assert {d["guild_id"] for d in got.values()} == {GUILD}


async def test_a_follows_minimum_side_and_start_are_respected(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    await follow(follows, 10, min_usd=100, side="buy")
    ingest = make_ingest()
    small = make_trade(usd=99)
    enough = make_trade(usd=100)
    sell = make_trade(usd=5000, side="SELL")
    before_follow = make_trade(usd=5000, ago=3600)

    await ingest.store([small, enough, sell, before_follow], "stream")

    # Every trade of a followed wallet is kept (history, backfill watermark)...
    assert len(await trade_rows(pool)) == 4
    # ...but only the one that passes the follow's filters is alerted.
    assert [d["trade_key"] for d in await delivery_rows(pool)] == [enough.key]


async def test_follow_changes_apply_to_the_next_trade(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    await follow(follows, 10, min_usd=1000)
    await follow(follows, 10, min_usd=0)  # /follow again edits the filters, one row
    ingest = make_ingest()
    first = make_trade(usd=10)
    await ingest.store([first], "stream")
    assert await pool.fetchval("SELECT count(*) FROM follows") == 1

    assert await follows.unfollow(10, FOLLOWED) is True
    assert not follows.is_followed(FOLLOWED) and not follows.wants(FOLLOWED, 10)
    await ingest.store([make_trade(usd=10)], "stream")

    await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=50, include_near_certain=False, user_id=99
    )
    assert follows.whale_min == 50
    watch = await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=0, include_near_certain=False, user_id=99
    )
    assert watch is None  # 0 turns the watch off
    assert follows.whale_min == float("inf")
    await ingest.store([make_trade(wallet=OTHER, usd=10_000)], "stream")

    assert [d["trade_key"] for d in await delivery_rows(pool)] == [first.key]
    overview_follows, overview_whales = await follows.guild_overview(GUILD)
    assert overview_follows == [] and overview_whales == []


# ---- the writer: back-pressure and outages -----------------------------------------------------


async def test_full_queue_sheds_unfollowed_whales_but_followed_trades_wait(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    await follow(follows, 10)
    await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=100, include_near_certain=False, user_id=99
    )
    ingest = make_ingest(queue_size=1)  # writer not started: nothing drains the queue yet
    queued_whale = make_trade(wallet=OTHER, usd=1000)
    shed_whale = make_trade(wallet=OTHER, usd=2000)
    followed = make_trade(usd=10)

    await ingest.submit(queued_whale)  # room left: even a whale-only trade is queued
    await ingest.submit(shed_whale)  # full and nobody follows the wallet: shed, not awaited
    assert ingest.stats.shed == 1 and ingest.queue_depth() == 1

    waiting = asyncio.create_task(ingest.submit(followed))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the stream is held back instead of the trade being dropped
    assert ingest.stats.shed == 1

    await ingest.start()
    await asyncio.wait_for(waiting, timeout=5)
    await ingest.stop()  # flushes the queue

    stored = {r["trade_key"] for r in await trade_rows(pool)}
    assert stored == {queued_whale.key, followed.key}
    assert ingest.stats.received == 3 and ingest.stats.stored == 2
    assert {(d["trade_key"], d["channel_id"]) for d in await delivery_rows(pool)} == {
        (queued_whale.key, 30),
        (followed.key, 10),
    }


async def test_a_database_failure_delays_a_batch_and_loses_nothing(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    await follow(follows, 10)
    ingest = make_ingest()
    await ingest.start()
    trades = [make_trade(usd=10 + n) for n in range(5)]

    # A real failure from PostgreSQL (UndefinedTable) on every attempt until it is undone.
    await pool.execute("ALTER TABLE trades RENAME TO trades_away")
    try:
        for trade in trades:
            await ingest.submit(trade)

        async def failed_twice() -> bool:
            return ingest.stats.write_failures >= 2

        await eventually(failed_twice)
    finally:
        await pool.execute("ALTER TABLE trades_away RENAME TO trades")

    await asyncio.wait_for(ingest.queue.join(), timeout=5)
    assert {r["trade_key"] for r in await trade_rows(pool)} == {t.key for t in trades}
    assert len(await delivery_rows(pool)) == 5  # and each alerted once, not once per attempt
    assert ingest.stats.stored == 5 and ingest.stats.deliveries == 5


async def test_one_unstorable_trade_does_not_block_the_others(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    await follow(follows, 10)
    ingest = make_ingest()
    await ingest.start()
    poison = make_trade(name="bad\x00name")  # valid JSON ("\u0000"), invalid PostgreSQL text
    good = make_trade()
    await ingest.submit(poison)
    await asyncio.sleep(0.05)  # its own batch
    await ingest.submit(good)

    async def good_stored() -> bool:
        return any(r["trade_key"] == good.key for r in await trade_rows(pool))

    try:
        await eventually(good_stored, within=1.0)
    finally:
        # While the bug stands the writer never drains; don't let stop() wait 5 s for it.
        writer, ingest._writer = ingest._writer, None
        if writer is not None:
            writer.cancel()


# ---- retention ---------------------------------------------------------------------------------


async def test_prune_deletes_old_trades_and_their_deliveries(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=1, include_near_certain=False, user_id=99
    )
    # A watch set up long ago, so the old trades below get deliveries too.
    await pool.execute("UPDATE whale_watches SET created_at = now() - interval '90 days'")
    await follows.load()
    ingest = make_ingest()
    old = [make_trade(wallet=OTHER, ago=40 * 86_400 + n) for n in range(3)]
    fresh = make_trade(wallet=OTHER, ago=86_400)
    await ingest.store([*old, fresh], "stream")
    # A sent outbox message that only pointed at old trades goes too.
    message_id = await pool.fetchval(
        "INSERT INTO alert_messages (channel_id, nonce, status) VALUES (30, 'n1', 'SENT')"
        " RETURNING id"
    )
    await pool.execute(
        "UPDATE alert_deliveries SET message_id = $1, status = 'SENT' WHERE trade_key = ANY($2)",
        message_id,
        [t.key for t in old],
    )
    pending_id = await pool.fetchval(
        "INSERT INTO alert_messages (channel_id, nonce) VALUES (30, 'n2') RETURNING id"
    )

    assert await ingest.prune(30) == 3
    assert [r["trade_key"] for r in await trade_rows(pool)] == [fresh.key]
    assert [d["trade_key"] for d in await delivery_rows(pool)] == [fresh.key]
    # A PENDING message is the dispatcher's to finish, pruned or not.
    assert await pool.fetch("SELECT id FROM alert_messages ORDER BY id") == [(pending_id,)]
    assert await ingest.prune(30) == 0


async def test_retention_of_a_large_history_runs_in_bounded_batches_and_finishes(
    pool: asyncpg.Pool,
    follows: FollowService,
    make_ingest: IngestFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """60,000 trades alerted in 3 channels each (180,000 delivery rows, 60,000 messages), the
    older half past retention: every batch is small, and the pass deletes all of it."""
    await pool.execute(
        "INSERT INTO trades (trade_key, wallet, asset, side, size, price, traded_at,"
        " transaction_hash, source) SELECT 'h' || g, '0x' || lpad(to_hex(g % 97), 40, '0'),"
        " 'a', 'BUY', 1, 0.5, now() - make_interval(days => CASE WHEN g % 2 = 0 THEN 40"
        " ELSE 1 END), 'tx' || g, 'stream' FROM generate_series(1, 60000) g"
    )
    await pool.execute(
        "INSERT INTO alert_messages (id, channel_id, nonce, status)"
        " SELECT g, 10 + g % 3, 'n' || g, 'SENT' FROM generate_series(1, 60000) g"
    )
    await pool.execute(
        "INSERT INTO alert_deliveries (trade_key, channel_id, guild_id, kind, message_id,"
        " status) SELECT 'h' || g, 10 + c, 1, 'whale', CASE WHEN c = g % 3 THEN g END, 'SENT'"
        " FROM generate_series(1, 60000) g, generate_series(0, 2) c"
    )
    await pool.execute(
        "INSERT INTO alert_messages (id, channel_id, nonce) VALUES (70000, 10, 'pending')"
    )
    batches: list[int] = []
    original = trade_queries.prune_trades_batch

    async def spy(conn: Any, cutoff: float, batch: int) -> int:
        deleted = await original(conn, cutoff, batch)
        batches.append(deleted)
        return deleted

    monkeypatch.setattr(trade_queries, "prune_trades_batch", spy)
    monkeypatch.setattr("bot.trades.ingest.PRUNE_BATCH", 2_000)
    ingest = make_ingest()

    assert await ingest.prune(30) == 30_000
    assert len(batches) == 16 and max(batches) == 2_000  # 15 full batches and an empty one
    assert await pool.fetchval("SELECT count(*) FROM trades") == 30_000
    assert await pool.fetchval("SELECT count(*) FROM alert_deliveries") == 90_000
    # Messages whose deliveries all went go too; a pending one stays for the dispatcher.
    assert await pool.fetchval("SELECT count(*) FROM alert_messages") == 30_001
    assert await pool.fetchval("SELECT status FROM alert_messages WHERE id = 70000") == "PENDING"
    assert await ingest.prune(30) == 0


async def test_bad_rows_are_isolated_and_the_rest_of_their_batch_is_stored(
    pool: asyncpg.Pool, follows: FollowService, make_ingest: IngestFactory
) -> None:
    """Eleven trades in one batch, two of them poison (a timestamp past year 9999, a NUL in a
    name PostgreSQL refuses): the nine good ones are stored, each once, and alerted."""
    await follow(follows, 10)
    ingest = make_ingest()
    good = [make_trade(usd=10 + n) for n in range(9)]
    far_future = dataclasses.replace(make_trade(usd=99), timestamp=1e17)
    nul = make_trade(usd=98, name="bad\x00name")
    batch = [*good[:4], far_future, *good[4:7], nul, *good[7:]]
    for trade in batch:
        await ingest.submit(trade)
    await ingest.start()
    await asyncio.wait_for(ingest.queue.join(), timeout=10)

    assert {r["trade_key"] for r in await trade_rows(pool)} == {t.key for t in good}
    assert len(await delivery_rows(pool)) == 9
    assert ingest.stats.rejected == 2 and ingest.stats.stored == 9
    assert not any(ingest.in_flight(t.key) for t in batch)
