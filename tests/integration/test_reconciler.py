"""Reconciler against real PostgreSQL and the fake Data API: what the stream missed is stored once.

The promises under test: a followed or copied wallet's fill that the stream never delivered is
stored (and so alerted) exactly once, marked delayed, counted as a miss when the stream was up
and as a recovery after a gap; whale-sized fills come back through one cash-filtered platform
query; history from before a follow or a whale watch never turns into alerts; a fill still on
its way through the stream is not taken for a miss; one wallet's failure stops no other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.events import EventBus
from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Trade
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from bot.trades.models import BACKDATE_TOLERANCE
from bot.trades.reconciler import PAGE, PLATFORM_LOOKBACK, PLATFORM_PAGES, Reconciler
from db import trade_queries
from tests.fakes.polymarket import FakePolymarket, FakeTrader

FOLLOWED = "0x" + "f" * 40
OTHER = "0x" + "e" * 40
STRANGER = "0x" + "d" * 40
GUILD = 1


def activity_row(
    trade_ts: float, usd: float, tx: str, wallet: str = FOLLOWED, price: float = 0.5
) -> dict[str, Any]:
    """A Data API activity row as the fake serves it (camelCase, unix seconds)."""
    return {
        "proxyWallet": wallet,
        "timestamp": int(trade_ts),
        "conditionId": "0x" + "c" * 64,
        "type": "TRADE",
        "size": usd / price,
        "usdcSize": usd,
        "transactionHash": tx,
        "price": price,
        "asset": "asset-yes",
        "side": "BUY",
        "outcomeIndex": 0,
        "title": "Will it rain?",
        "slug": "will-it-rain",
        "icon": "",
        "eventSlug": "rain",
        "outcome": "Yes",
        "name": "",
        "pseudonym": "",
    }


def tx(n: int) -> str:
    return f"0x{n:064x}"


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=0, seed=3)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def data_api(fake: FakePolymarket) -> AsyncIterator[DataAPI]:
    async with aiohttp.ClientSession() as session:
        hosts = {"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url}

        async def no_wait(_: float) -> None:  # retry backoff is not what these tests measure
            await asyncio.sleep(0)

        http = PolymarketHTTP(session, hosts=hosts, timeout=2.0, max_retries=1, sleep=no_wait)
        yield DataAPI(http)


@pytest.fixture
def notified() -> list[set[int]]:
    return []


@pytest.fixture
def ingest(pool: asyncpg.Pool, follows: FollowService, notified: list[set[int]]) -> TradeIngest:
    return TradeIngest(pool, follows, EventBus(), on_deliveries=notified.append)


class Connection:
    """The stream's state as the reconciler asks for it."""

    def __init__(self) -> None:
        self.since: float | None = time.time() - 7200

    def __call__(self) -> float | None:
        return self.since


@pytest.fixture
def connection() -> Connection:
    return Connection()


ReconcilerFactory = Callable[..., Reconciler]


@pytest.fixture
def make_reconciler(
    pool: asyncpg.Pool,
    data_api: DataAPI,
    ingest: TradeIngest,
    follows: FollowService,
    connection: Connection,
) -> ReconcilerFactory:
    def build(**kw: Any) -> Reconciler:
        kw.setdefault("interval", 60.0)
        return Reconciler(pool, data_api, ingest, follows, connected_since=connection, **kw)

    return build


async def follow(follows: FollowService, pool: asyncpg.Pool, wallet: str, ago: float) -> None:
    """A follow made ``ago`` seconds ago (a real gap spans a restart or an outage)."""
    await follows.follow(
        guild_id=GUILD, channel_id=10, wallet=wallet, label="", min_usd=0, side="both", user_id=9
    )
    await pool.execute(
        "UPDATE follows SET created_at = now() - make_interval(secs => $1) WHERE wallet = $2",
        float(ago),
        wallet,
    )
    await follows.load()


async def stored(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT trade_key, source FROM trades")
    return {r["trade_key"]: r["source"] for r in rows}


async def deliveries(pool: asyncpg.Pool) -> dict[tuple[str, int], bool]:
    rows = await pool.fetch("SELECT trade_key, channel_id, delayed FROM alert_deliveries")
    return {(r["trade_key"], r["channel_id"]): r["delayed"] for r in rows}


async def test_a_fill_the_live_stream_missed_is_stored_once_delayed_and_counted(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    ingest: TradeIngest,
    make_reconciler: ReconcilerFactory,
) -> None:
    await follow(follows, pool, FOLLOWED, ago=3600)
    now = time.time()
    seen = activity_row(now - 120, 20, tx(1))
    missed = activity_row(now - 60, 30, tx(2))
    maker = activity_row(now - 30, 40, tx(3))  # the wallet was the maker: /trades hides it
    fake.add_trader(
        FakeTrader(FOLLOWED, "", {}, {}, activity=[maker, missed, seen], maker_tx={tx(3)})
    )
    await ingest.store([Trade.from_api(seen)], "stream")  # the stream delivered this one
    reconciler = make_reconciler()

    assert await reconciler.run_round() == 2
    keys = {name: Trade.from_api(row).key for name, row in (("missed", missed), ("maker", maker))}
    sources = await stored(pool)
    assert sources[keys["missed"]] == sources[keys["maker"]] == "reconcile"
    assert sources[Trade.from_api(seen).key] == "stream"
    delivered = await deliveries(pool)
    assert delivered[(keys["missed"], 10)] is True and delivered[(keys["maker"], 10)] is True
    assert delivered[(Trade.from_api(seen).key, 10)] is False
    assert reconciler.stats.missed_while_connected == 2
    assert reconciler.stats.misses_since(now - 60) == 2  # the verdict's recent rate sees them
    assert reconciler.stats.recovered_after_gap == 0
    (_, query), *_ = [q for q in fake.queries if q[0] == "/trades" and q[1].get("user")]
    assert query["takerOnly"] == "false" and query["user"] == FOLLOWED

    # The next round finds nothing new: no row, no alert, no miss counted twice.
    assert await reconciler.run_round() == 0
    assert len(await deliveries(pool)) == 3
    assert reconciler.stats.missed_while_connected == 2


async def test_fills_made_while_the_stream_was_down_are_recoveries_and_history_stays_history(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    make_reconciler: ReconcilerFactory,
    connection: Connection,
) -> None:
    await follow(follows, pool, FOLLOWED, ago=600)
    now = time.time()
    before_follow = activity_row(now - 86_400, 20, tx(4))
    in_gap = activity_row(now - 300, 20, tx(5))
    fake.add_trader(FakeTrader(FOLLOWED, "", {}, {}, activity=[in_gap, before_follow]))
    connection.since = now - 10  # reconnected just now: the gap was before it
    reconciler = make_reconciler()

    assert await reconciler.run_round() == 1
    assert await stored(pool) == {Trade.from_api(in_gap).key: "backfill"}
    assert reconciler.stats.recovered_after_gap == 1
    assert reconciler.stats.missed_while_connected == 0


async def test_a_fill_on_its_way_through_the_stream_or_too_recent_is_not_a_miss(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    ingest: TradeIngest,
    make_reconciler: ReconcilerFactory,
) -> None:
    await follow(follows, pool, FOLLOWED, ago=3600)
    now = time.time()
    queued = activity_row(now - 60, 20, tx(6))
    just_now = activity_row(now - 1, 20, tx(7))
    fake.add_trader(FakeTrader(FOLLOWED, "", {}, {}, activity=[just_now, queued]))
    await ingest.submit(Trade.from_api(queued))  # in the ingest queue, not yet written
    clock = [now]
    reconciler = make_reconciler(clock=lambda: clock[0])

    assert await reconciler.run_round() == 0
    assert await stored(pool) == {}
    await ingest.start()
    await asyncio.wait_for(ingest.queue.join(), 5)
    await ingest.stop()
    assert await stored(pool) == {Trade.from_api(queued).key: "stream"}

    # The stream had its grace for the recent one and never sent it: now it is a miss, judged
    # without waiting for the next round.
    clock[0] = now + 10
    assert await reconciler.judge_undecided() == 1
    assert (await stored(pool))[Trade.from_api(just_now).key] == "reconcile"
    assert await reconciler.judge_undecided() == 0


async def test_whale_sized_fills_come_back_through_one_cash_filtered_platform_query(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    make_reconciler: ReconcilerFactory,
) -> None:
    await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=5_000, include_near_certain=False, user_id=9
    )
    await pool.execute("UPDATE whale_watches SET created_at = now() - interval '1 hour'")
    await follows.set_whales(
        guild_id=GUILD, channel_id=40, min_usd=8_000, include_near_certain=False, user_id=9
    )  # made now: fills from before it are history for this channel
    await follows.load()
    now = time.time()
    whale = activity_row(now - 600, 9_000, tx(8), wallet=STRANGER)
    small = activity_row(now - 500, 100, tx(9), wallet=STRANGER)
    fresh_whale = activity_row(now - 20, 6_000, tx(10), wallet=OTHER)
    fake.add_trader(FakeTrader(STRANGER, "", {}, {}, activity=[small, whale]))
    fake.add_trader(FakeTrader(OTHER, "", {}, {}, activity=[fresh_whale]))
    reconciler = make_reconciler()

    assert await reconciler.run_round() == 2
    platform = [q for key, q in fake.queries if key == "/trades" and "user" not in q]
    assert len(platform) == 1
    assert platform[0]["filterType"] == "CASH" and float(platform[0]["filterAmount"]) == 5_000
    whale_key, fresh_key = Trade.from_api(whale).key, Trade.from_api(fresh_whale).key
    assert set(await stored(pool)) == {whale_key, fresh_key}
    assert await deliveries(pool) == {(whale_key, 30): True, (fresh_key, 30): True}
    assert reconciler.stats.platform_recovered == 2


def utc(seconds: float) -> str:
    """A time as the reconciler's warnings write it."""
    return datetime.fromtimestamp(int(seconds), tz=UTC).isoformat(timespec="seconds")


async def round_and_cap_warnings(
    reconciler: Reconciler, caplog: pytest.LogCaptureFixture
) -> tuple[int, list[str]]:
    """One round: the fills it stored and its warnings about windows it did not check."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.trades.reconciler"):
        found = await reconciler.run_round()
    return found, [r.getMessage() for r in caplog.records if "not checked" in r.getMessage()]


async def test_a_platform_check_that_hits_its_page_cap_says_which_window_it_missed(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    make_reconciler: ReconcilerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """More whale-sized fills since the last check than the pages a check reads: the older
    part of the window is not checked, and an operator must be able to see that."""
    await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=5_000, include_near_certain=False, user_id=9
    )
    read = PLATFORM_PAGES * PAGE
    now = time.time()
    rows = [activity_row(now - 10 - n, 6_000, tx(1_000 + n), wallet=STRANGER) for n in range(read)]
    unread = activity_row(now - 3_000, 6_000, tx(999), wallet=STRANGER)  # past the cap
    fake.add_trader(FakeTrader(STRANGER, "", {}, {}, activity=[*rows, unread]))
    reconciler = make_reconciler(clock=lambda: now)

    found, [warning] = await round_and_cap_warnings(reconciler, caplog)
    assert found == read
    assert reconciler.stats.platform_checks_capped == 1
    assert Trade.from_api(unread).key not in await stored(pool)
    oldest_read = now - 10 - (read - 1)
    assert f"from {utc(now - PLATFORM_LOOKBACK)} to {utc(oldest_read)}" in warning
    assert "$5,000" in warning and f"{read:,}" in warning

    # The next check reads what is new since: within the cap, nothing to say.
    assert (await round_and_cap_warnings(reconciler, caplog))[1] == []
    assert reconciler.stats.platform_checks_capped == 1


async def test_wallets_with_more_fills_than_a_page_are_counted_and_logged_once_a_round(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    make_reconciler: ReconcilerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A market maker fills more than a page between two checks: its older fills are not
    checked, and an operator must be able to see that (one line a round, not one a wallet)."""
    makers = [FOLLOWED, OTHER]
    now = time.time()
    for n, maker in enumerate(makers):
        await follow(follows, pool, maker, ago=3600)
        fills = [
            activity_row(now - 10 - k, 5, tx(10_000 * (n + 1) + k), maker) for k in range(PAGE + 1)
        ]
        fake.add_trader(FakeTrader(maker, "", {}, {}, activity=fills))
    await follow(follows, pool, STRANGER, ago=3600)  # a quiet wallet: within one page
    fake.add_trader(
        FakeTrader(STRANGER, "", {}, {}, activity=[activity_row(now - 60, 5, tx(1), STRANGER)])
    )
    reconciler = make_reconciler(clock=lambda: now)

    found, [warning] = await round_and_cap_warnings(reconciler, caplog)
    assert found == 2 * PAGE + 1
    assert reconciler.stats.wallet_checks_capped == 2
    assert "2 wallets had more than 500 fills" in warning
    oldest_read = now - 10 - (PAGE - 1)
    for maker in makers:  # each from its follow (a first check) to the oldest fill read
        [followed] = follows.follows_of(maker)
        since = followed.created_at - BACKDATE_TOLERANCE
        assert f"{maker} from {utc(since)} to {utc(oldest_read)}" in warning

    # The next round reads what is new since: within a page, nothing to say.
    assert (await round_and_cap_warnings(reconciler, caplog))[1] == []
    assert reconciler.stats.wallet_checks_capped == 2


async def test_one_wallets_failure_does_not_stop_the_others_and_busy_wallets_go_first(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    ingest: TradeIngest,
    make_reconciler: ReconcilerFactory,
) -> None:
    await follow(follows, pool, FOLLOWED, ago=600)
    await follow(follows, pool, OTHER, ago=600)
    now = time.time()
    for n, wallet in enumerate((FOLLOWED, OTHER)):
        fake.add_trader(
            FakeTrader(
                wallet, "", {}, {}, activity=[activity_row(now - 60, 20, tx(20 + n), wallet)]
            )
        )
    busy = [Trade.from_api(activity_row(now - 300 - n, 5, tx(30 + n), OTHER)) for n in range(3)]
    await ingest.store(busy, "stream")  # OTHER trades often: it is checked first
    fake.inject("/trades", "html403", count=2)  # Cloudflare blocks the first check and its retry
    reconciler = make_reconciler()

    assert await reconciler.run_round() == 1
    assert fake.pending_faults == 0
    checked = [q["user"] for key, q in fake.queries if key == "/trades" and "user" in q]
    assert checked[0] == OTHER
    assert reconciler.stats.failures == 1
    assert await reconciler.run_round() == 1  # the failed wallet is caught up next round


async def test_reconnects_during_a_round_join_it_instead_of_queueing_rounds(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    make_reconciler: ReconcilerFactory,
) -> None:
    await follows.set_whales(
        guild_id=GUILD, channel_id=30, min_usd=5_000, include_near_certain=False, user_id=9
    )
    wallets = [f"0x{n:040x}" for n in range(1, 6)]
    for wallet in wallets:
        await follow(follows, pool, wallet, ago=600)
        fake.add_trader(FakeTrader(wallet, "", {}, {}, activity=[]))
    fake.hold = asyncio.Event()  # requests wait until released: the round stays running
    reconciler = make_reconciler(interval=3600.0)
    await reconciler.start()
    try:
        await until(lambda: fake.calls["/trades"] >= 1)  # the round's first request is held
        assert reconciler.stats.running
        for _ in range(10):  # a reconnect storm while the round runs
            await reconciler.request_round()
        fake.hold.set()
        await until(lambda: reconciler.stats.rounds >= 1)
        await asyncio.sleep(0.3)
        assert reconciler.stats.rounds == 1  # no round queued behind it
        assert reconciler.stats.coalesced == 10
        platform = [q for key, q in fake.queries if key == "/trades" and "user" not in q]
        assert len(platform) == 2  # at the start, and once more for the reconnects' gap
        assert reconciler.stats.wallet_checks == len(wallets)

        await reconciler.request_round()  # a reconnect while idle starts a round at once
        await until(lambda: reconciler.stats.rounds == 2)
    finally:
        await reconciler.stop()


async def test_a_fill_postgresql_refuses_costs_no_other_missed_fill(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    follows: FollowService,
    ingest: TradeIngest,
    make_reconciler: ReconcilerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await follow(follows, pool, FOLLOWED, ago=3600)
    now = time.time()
    poison, good = activity_row(now - 90, 20, tx(40)), activity_row(now - 60, 30, tx(41))
    fake.add_trader(FakeTrader(FOLLOWED, "", {}, {}, activity=[good, poison]))
    insert = trade_queries.insert_trades
    poison_key = Trade.from_api(poison).key

    async def refusing(conn: Any, trades: Any, source: str) -> set[str]:
        if any(t.key == poison_key for t in trades):  # as PostgreSQL refuses bad text
            raise asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")
        return await insert(conn, trades, source)

    monkeypatch.setattr(trade_queries, "insert_trades", refusing)
    reconciler = make_reconciler()

    assert await reconciler.run_round() == 1
    assert set(await stored(pool)) == {Trade.from_api(good).key}
    assert ingest.stats.rejected == 1 and reconciler.stats.failures == 0
