"""The copy-trading service against real PostgreSQL and the fake Polymarket (real HTTP stack).

The promises under test: a copied trade makes exactly one paper order per copy (whatever the
duplicates), budgets cap what is spent, sells mirror the trader's share, fills follow the live
book, and no crash, cancelled sync or second process ever fills or settles anything twice
(cash + cost basis - realized PnL stays equal to what was deposited).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.copytrading import CopyTradingService, OrderStatus, PaperOrder
from bot.copytrading.fills import parse_levels
from bot.events import TRADE_STORED, Event, EventBus
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Market, Trade, trade_key
from db import trade_queries
from tests.fakes.polymarket import FakePolymarket

TRADER = "0x" + "a" * 40
OTHER_TRADER = "0x" + "b" * 40
GUILD = 10
USER = 20
_tx = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    async with FakePolymarket(n_traders=0, seed=5) as server:
        yield server


@pytest.fixture
async def http(fake: FakePolymarket) -> AsyncIterator[PolymarketHTTP]:
    async with aiohttp.ClientSession() as session:
        yield PolymarketHTTP(
            session,
            hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url},
            timeout=5.0,
            max_retries=0,
            limits={},
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


Factory = Callable[..., CopyTradingService]


@pytest.fixture
def make_service(pool: asyncpg.Pool, http: PolymarketHTTP, clock: Clock) -> Factory:
    gamma = GammaAPI(http)

    async def market_of(condition_id: str) -> Market | None:
        found = await gamma.markets_by_condition([condition_id])
        return next((m for m in found if m.condition_id == condition_id), None)

    def factory(**kwargs: Any) -> CopyTradingService:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("retry_delay", 0.01)
        return CopyTradingService(pool, ClobAPI(http), market_of=market_of, **kwargs)

    return factory


def new_market(fake: FakePolymarket, price: float = 0.5) -> tuple[str, tuple[str, str]]:
    """(condition id, token ids) of a fresh binary market priced ``price`` / ``1 - price``."""
    market = fake.add_market(f"Will test market {next(_tx)} happen?", prices=(price, 1 - price))
    return market["conditionId"], tuple(json.loads(market["clobTokenIds"]))  # type: ignore[return-value]


async def store_trade(
    pool: asyncpg.Pool,
    clock: Clock,
    *,
    asset: str,
    condition_id: str,
    side: str = "BUY",
    size: float = 100.0,
    price: float = 0.5,
    wallet: str = TRADER,
) -> Trade:
    tx = f"0x{next(_tx):064x}"
    trade = Trade(
        key=trade_key(tx, wallet, asset, side, size, price),
        wallet=wallet,
        asset=asset,
        condition_id=condition_id,
        side=side,
        size=size,
        price=price,
        timestamp=clock(),
        transaction_hash=tx,
        outcome="Yes",
        title="Will it happen?",
        slug="will-it-happen",
        event_slug="",
        name="",
        pseudonym="",
    )
    async with pool.acquire() as conn:
        await trade_queries.insert_trades(conn, [trade], "stream")
    return trade


async def copy_trade(
    service: CopyTradingService, pool: asyncpg.Pool, clock: Clock, **kw: Any
) -> list[PaperOrder]:
    trade = await store_trade(pool, clock, **kw)
    return await service.process_trade(trade.key)


async def orders(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM paper_orders ORDER BY id")


async def portfolio_row(pool: asyncpg.Pool, user: int = USER) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT * FROM portfolios WHERE guild_id = $1 AND user_id = $2", GUILD, user
    )
    assert row is not None
    return row


async def position(pool: asyncpg.Pool, asset: str, user: int = USER) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT p.* FROM paper_positions p JOIN portfolios f ON f.id = p.portfolio_id"
        " WHERE f.guild_id = $1 AND f.user_id = $2 AND p.asset = $3",
        GUILD,
        user,
        asset,
    )


async def assert_books_balance(pool: asyncpg.Pool) -> None:
    """Money is neither made nor lost by the bookkeeping, whatever was interrupted."""
    for p in await pool.fetch("SELECT * FROM portfolios"):
        basis = await pool.fetchval(
            "SELECT COALESCE(sum(cost_basis), 0) FROM paper_positions WHERE portfolio_id = $1",
            p["id"],
        )
        assert p["cash"] + basis - p["realized_pnl"] == pytest.approx(p["deposited"], abs=1e-6)
        flows = await pool.fetchrow(
            "SELECT COALESCE(sum(filled_usd) FILTER (WHERE side = 'BUY'), 0) AS bought,"
            " COALESCE(sum(filled_usd) FILTER (WHERE side = 'SELL'), 0) AS sold"
            " FROM paper_orders WHERE portfolio_id = $1",
            p["id"],
        )
        paid = await pool.fetchval(
            "SELECT COALESCE(sum(proceeds), 0) FROM settlements WHERE portfolio_id = $1", p["id"]
        )
        assert p["deposited"] - p["cash"] == pytest.approx(
            flows["bought"] - flows["sold"] - paid, abs=1e-6
        )
        assert p["cash"] >= -1e-6
    rows = await pool.fetch(
        "SELECT p.portfolio_id, p.asset, p.size,"
        " (SELECT COALESCE(sum(CASE WHEN o.side = 'BUY' THEN o.filled_shares"
        "  ELSE -o.filled_shares END), 0) FROM paper_orders o"
        "  WHERE o.portfolio_id = p.portfolio_id AND o.asset = p.asset) AS traded,"
        " (SELECT COALESCE(sum(s.size), 0) FROM settlements s"
        "  WHERE s.portfolio_id = p.portfolio_id AND s.asset = p.asset) AS settled"
        " FROM paper_positions p"
    )
    for row in rows:
        assert row["size"] == pytest.approx(row["traded"] - row["settled"], abs=1e-6)
    for order in await orders(pool):
        if order["side"] == "BUY":
            assert order["filled_usd"] <= order["size_usd"] + 1e-6
        else:
            assert order["filled_shares"] <= order["size_shares"] + 1e-6


# ---- budgets and idempotency -----------------------------------------------------------------


async def test_budget_caps_each_order_and_the_total(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=25, per_trade_usd=10)
    sizes = []
    for _ in range(4):
        [order] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
        sizes.append((order.size_usd, order.status, order.reason))
    assert sizes[:3] == [
        (10, OrderStatus.FILLED, ""),
        (10, OrderStatus.FILLED, ""),
        (5, OrderStatus.FILLED, ""),
    ]
    assert sizes[3] == (0, OrderStatus.CANCELLED, "budget exhausted")
    row = await portfolio_row(pool)
    assert row["deposited"] == 25
    assert row["cash"] == pytest.approx(0, abs=1e-6)
    pos = await position(pool, yes)
    assert pos is not None
    assert pos["avg_price"] == pytest.approx(0.51)  # the best ask: mid 0.5 + one tick
    assert pos["size"] == pytest.approx(25 / 0.51)
    await assert_books_balance(pool)


async def test_a_pending_buy_reserves_budget_until_it_is_cancelled(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake, 0.7)  # best ask 0.71: far above a copy of a 0.5 trade
    await service.start_copy(GUILD, USER, TRADER, budget_usd=10, per_trade_usd=10)
    [first] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    assert first.status == OrderStatus.PENDING
    [second] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    assert (second.status, second.reason) == (OrderStatus.CANCELLED, "budget exhausted")
    clock.advance(3601)
    report = await service.sync()
    assert report.expired == 1
    [third] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    assert third.size_usd == 10 and third.status == OrderStatus.PENDING


async def test_duplicate_trades_make_one_order(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    bus = EventBus()
    bus.subscribe(TRADE_STORED, service.on_trade_stored)
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    trade = await store_trade(pool, clock, asset=yes, condition_id=cid)
    for _ in range(3):  # stream, orders_matched and backfill all report the same fill
        bus.publish(TRADE_STORED, wallet=trade.wallet, trade_key=trade.key)
    await asyncio.sleep(0.05)
    assert service.queue.qsize() == 1  # nothing written yet: the handler only enqueued
    service.start()
    await asyncio.wait_for(service.queue.join(), 5)
    await service.stop()
    assert len(await orders(pool)) == 1
    # Again later, from this process and from a second one at the same time.
    other = make_service()
    await asyncio.gather(service.process_trade(trade.key), other.process_trade(trade.key))
    bus.publish(TRADE_STORED, wallet=trade.wallet, trade_key=trade.key)
    service.start()
    await asyncio.wait_for(service.queue.join(), 5)
    await service.stop()
    rows = await orders(pool)
    assert len(rows) == 1
    assert rows[0]["idempotency_key"].endswith(":" + trade.key)
    assert service.stats.duplicates + other.stats.duplicates >= 2
    await assert_books_balance(pool)


async def test_handler_ignores_wallets_nobody_copies(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    await service.on_trade_stored(Event(TRADE_STORED, {"wallet": OTHER_TRADER, "trade_key": "k"}))
    assert service.queue.qsize() == 0
    await service.on_trade_stored(Event(TRADE_STORED, {"wallet": TRADER, "trade_key": "k"}))
    assert service.queue.qsize() == 1


async def test_writer_retries_a_failed_write_until_it_passes(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    trade = await store_trade(pool, clock, asset=yes, condition_id=cid)
    real = service.process_trade
    failures = 2

    async def flaky(key: str) -> list[PaperOrder]:
        nonlocal failures
        if failures:
            failures -= 1
            raise asyncpg.PostgresConnectionError("connection lost")
        return await real(key)

    service.process_trade = flaky  # type: ignore[method-assign]
    service.start()
    await service.on_trade_stored(_event(trade))
    await asyncio.wait_for(service.queue.join(), 5)
    await service.stop()
    assert service.stats.write_failures == 2
    assert len(await orders(pool)) == 1


async def test_catch_up_after_a_crash_creates_the_missing_orders(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    cid, (yes, _) = new_market(fake)
    old = await store_trade(pool, clock, asset=yes, condition_id=cid)  # before the copy began
    clock.advance(120)
    await make_service().start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    lost = await store_trade(pool, clock, asset=yes, condition_id=cid)  # crash: never enqueued
    restarted = make_service()
    restarted.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(restarted.queue.join(), 5)
    await restarted.stop()
    rows = await orders(pool)
    assert [r["trade_key"] for r in rows] == [lost.key]
    assert old.key not in {r["trade_key"] for r in rows}


def _event(trade: Trade) -> Event:
    return Event(TRADE_STORED, {"wallet": trade.wallet, "trade_key": trade.key})


# ---- sells -----------------------------------------------------------------------------------


async def test_a_sell_mirrors_the_traders_share(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    positions = {(TRADER, "x"): 0.0}

    def position_of(wallet: str, asset: str) -> float | None:
        return positions.get((wallet, asset))

    service = make_service(position_of=position_of)
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    held = (await position(pool, yes))["size"]  # type: ignore[index]
    # The trader held 100 shares before selling 30: the follower sells 30% of theirs.
    positions[(TRADER, yes)] = 100.0
    [sell] = await copy_trade(
        service, pool, clock, asset=yes, condition_id=cid, side="SELL", size=30
    )
    assert sell.status == OrderStatus.FILLED
    assert sell.size_shares == pytest.approx(0.3 * held)
    assert sell.filled_usd == pytest.approx(0.3 * held * 0.49)  # best bid: mid - one tick
    pos = await position(pool, yes)
    assert pos is not None
    assert pos["size"] == pytest.approx(0.7 * held)
    assert pos["realized_pnl"] == pytest.approx(0.3 * held * (0.49 - 0.51))
    # Position unknown: the follower exits completely.
    positions.pop((TRADER, yes))
    [exit_order] = await copy_trade(
        service, pool, clock, asset=yes, condition_id=cid, side="SELL", size=5
    )
    assert exit_order.size_shares == pytest.approx(0.7 * held)
    pos = await position(pool, yes)
    assert pos is not None and pos["size"] == 0 and pos["closed_at"] is not None
    view = await service.portfolio(GUILD, USER)
    assert view is not None
    assert view.positions == ()
    assert (view.closed_positions, view.win_rate) == (1, 0.0)
    assert view.realized_pnl == pytest.approx(held * (0.49 - 0.51))
    # Nothing left: a further sell is cancelled at once.
    [nothing] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid, side="SELL")
    assert (nothing.status, nothing.reason) == (OrderStatus.CANCELLED, "nothing to sell")
    await assert_books_balance(pool)


async def test_a_sell_cancels_the_copys_open_buys_of_that_token(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake, 0.7)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    [buy] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid, price=0.5)
    assert buy.status == OrderStatus.PENDING
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid, side="SELL", price=0.7)
    rows = await orders(pool)
    assert [(r["status"], r["reason"]) for r in rows] == [
        ("CANCELLED", "trader sold"),
        ("CANCELLED", "nothing to sell"),
    ]


# ---- fills over time -------------------------------------------------------------------------


async def test_partial_fill_completes_on_a_later_sync_when_the_book_moves(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    http: PolymarketHTTP,
    make_service: Factory,
    clock: Clock,
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake)
    book = await ClobAPI(http).book(yes)
    within = [lv for lv in parse_levels(book["asks"]) if lv.price <= 0.52 + 1e-9]
    capacity = sum(lv.price * lv.size for lv in within)
    wanted = round(capacity + 40, 2)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=10_000, per_trade_usd=wanted)
    [order] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    assert order.status == OrderStatus.PARTIAL
    assert order.filled_usd == pytest.approx(capacity)
    report = await service.sync()  # same book: nothing more within the limit
    assert report.unfilled == 1
    assert (await orders(pool))[0]["status"] == "PARTIAL"
    fake.set_price(yes, 0.45)  # asks now 0.46..0.50, all within 0.52
    report = await service.sync()
    assert report.filled == 1
    [row] = await orders(pool)
    assert row["status"] == "FILLED"
    assert row["filled_usd"] == pytest.approx(wanted)
    pos = await position(pool, yes)
    assert pos is not None and pos["size"] == pytest.approx(row["filled_shares"])
    assert (await portfolio_row(pool))["cash"] == pytest.approx(10_000 - wanted)
    await assert_books_balance(pool)


async def test_open_orders_expire_after_the_ttl(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service(order_ttl=600)
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    [order] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid, price=0.3)
    assert order.status == OrderStatus.PENDING
    clock.advance(599)
    assert (await service.sync()).expired == 0
    clock.advance(2)
    assert (await service.sync()).expired == 1
    [row] = await orders(pool)
    assert (row["status"], row["reason"]) == ("CANCELLED", "expired")


async def test_stopping_a_copy_cancels_its_open_orders_and_keeps_positions(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    [filled] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    [pending] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid, price=0.3)
    assert (filled.status, pending.status) == (OrderStatus.FILLED, OrderStatus.PENDING)
    result = await service.stop_copy(GUILD, USER, TRADER.upper().replace("0X", "0x"))
    assert result is not None and result.cancelled_orders == 1
    assert await service.stop_copy(GUILD, USER, TRADER) is None
    rows = await orders(pool)
    assert [(r["status"], r["reason"]) for r in rows] == [
        ("FILLED", ""),
        ("CANCELLED", "copy stopped"),
    ]
    assert (await position(pool, yes))["size"] > 0  # type: ignore[index]
    assert await copy_trade(service, pool, clock, asset=yes, condition_id=cid) == []
    assert await service.copies(GUILD, USER) == []
    await assert_books_balance(pool)


# ---- resolution, lost markets, crashes -------------------------------------------------------


async def test_resolution_settles_each_position_exactly_once(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    cid, (yes, no) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    await service.start_copy(GUILD, USER + 1, TRADER, budget_usd=100, per_trade_usd=10)
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid)  # both users buy YES
    await service.start_copy(GUILD, USER + 2, OTHER_TRADER, budget_usd=100, per_trade_usd=10)
    await copy_trade(service, pool, clock, asset=no, condition_id=cid, wallet=OTHER_TRADER)
    pending, _ = await copy_trade(service, pool, clock, asset=yes, condition_id=cid, price=0.2)
    held = (await position(pool, yes))["size"]  # type: ignore[index]
    fake.resolve_market(cid, 0)
    first = await service.sync()
    assert first.settled == 3
    assert first.cancelled_closed >= 1  # the open order on the resolved market
    second = await service.sync()
    restarted = make_service()
    third, fourth = await asyncio.gather(restarted.sync(), make_service().sync())
    assert second.settled == third.settled == fourth.settled == 0
    assert await pool.fetchval("SELECT count(*) FROM settlements") == 3
    winner = await portfolio_row(pool, USER)
    assert winner["cash"] == pytest.approx(100 - 10 + held)
    assert winner["realized_pnl"] == pytest.approx(held - 10)
    loser = await portfolio_row(pool, USER + 2)
    assert loser["cash"] == pytest.approx(90)
    assert loser["realized_pnl"] == pytest.approx(-10)
    statuses = {(r["trade_key"], r["status"], r["reason"]) for r in await orders(pool)}
    assert (pending.trade_key, "CANCELLED", "market closed") in statuses
    view = await service.portfolio(GUILD, USER)
    assert view is not None and view.win_rate == 1.0 and view.positions == ()
    await assert_books_balance(pool)


async def test_orders_of_a_vanished_market_are_lost_after_three_syncs(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    unknown_cid = "0x" + "ab" * 32
    [order] = await copy_trade(service, pool, clock, asset="123456789", condition_id=unknown_cid)
    assert order.status == OrderStatus.PENDING  # the writer's own try does not count
    fake.fail_all("500")  # an outage is not a vanished market
    for _ in range(4):
        report = await service.sync()
        assert report.book_errors == 1
    fake.clear_faults()
    [row] = await orders(pool)
    assert (row["status"], row["missing_syncs"]) == ("PENDING", 0)
    for expected in (1, 2):
        await service.sync()
        [row] = await orders(pool)
        assert (row["status"], row["missing_syncs"]) == ("PENDING", expected)
    report = await service.sync()
    assert report.lost == 1
    [row] = await orders(pool)
    assert (row["status"], row["reason"]) == ("LOST", "market not found")


async def test_books_are_fetched_once_per_token_per_sync(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    markets = [new_market(fake) for _ in range(3)]
    for user in range(4):
        await service.start_copy(GUILD, USER + user, TRADER, budget_usd=1_000, per_trade_usd=10)
    await copy_trade(service, pool, clock, asset=markets[0][1][0], condition_id=markets[0][0])
    for cid, (yes, _) in markets:
        await copy_trade(service, pool, clock, asset=yes, condition_id=cid, price=0.3)
    assert len(await orders(pool)) == 16
    fake.reset_calls()
    report = await service.sync()
    assert report.open_orders == 12
    assert fake.calls["/book"] == 3  # 12 open orders and 4 positions over 3 tokens
    assert report.books_fetched == 3


async def test_a_sync_cancelled_anywhere_and_restarted_keeps_the_books_balanced(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    markets = [new_market(fake, 0.7) for _ in range(5)]
    for user in range(4):
        await service.start_copy(GUILD, USER + user, TRADER, budget_usd=1_000, per_trade_usd=20)
    for cid, (yes, _) in markets:
        for _ in range(2):
            await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    assert {r["status"] for r in await orders(pool)} == {"PENDING"}
    for _, (yes, _) in markets:
        fake.set_price(yes, 0.5)  # now every order can fill
    fake.latency = 0.003
    for delay in (0.0, 0.001, 0.004, 0.008, 0.015, 0.03, 0.05, 0.08):
        task = asyncio.create_task(make_service().sync())  # a fresh process each time
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await assert_books_balance(pool)
    # Two processes finishing the job at once.
    await asyncio.gather(make_service().sync(), make_service().sync())
    await service.sync()
    rows = await orders(pool)
    assert {r["status"] for r in rows} == {"FILLED"}
    assert len(rows) == 40
    await assert_books_balance(pool)
    for user in range(4):
        assert (await portfolio_row(pool, USER + user))["cash"] == pytest.approx(1_000 - 200)
    # Selling everything and resolving under the same chaos still balances.
    fake.latency = 0.0
    for cid, (yes, _) in markets[:2]:
        await copy_trade(service, pool, clock, asset=yes, condition_id=cid, side="SELL")
    fake.resolve_market(markets[2][0], 0)
    fake.latency = 0.003
    task = asyncio.create_task(make_service().sync())
    await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await assert_books_balance(pool)
    await make_service().sync()
    assert await pool.fetchval("SELECT count(*) FROM settlements") == 4
    await assert_books_balance(pool)


# ---- the read model --------------------------------------------------------------------------


async def test_portfolio_shows_marks_orders_and_hourly_history(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    assert await service.portfolio(GUILD, USER) is None
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid, price=0.3)
    await service.sync()
    fake.set_price(yes, 0.6)
    await service.sync()  # same hour: marks move, no second snapshot
    view = await service.portfolio(GUILD, USER)
    assert view is not None
    [pos] = view.positions
    assert pos.price == pytest.approx(0.6)
    assert pos.value == pytest.approx(pos.size * 0.6)
    assert pos.unrealized_pnl == pytest.approx(pos.size * 0.6 - 10)
    assert view.cash == pytest.approx(90)
    assert view.value == pytest.approx(90 + pos.size * 0.6)
    assert [o.status for o in view.orders] == [OrderStatus.PENDING, OrderStatus.FILLED]
    assert len(view.history) == 1
    assert view.history[0].value == pytest.approx(90 + pos.size * 0.5)
    assert view.win_rate is None
    assert [c.wallet for c in view.copies] == [TRADER]
    clock.advance(3600)
    await service.sync()
    view = await service.portfolio(GUILD, USER)
    assert view is not None and len(view.history) == 2


async def test_a_stopped_copy_still_follows_the_traders_sells_out_of_its_own_shares(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    other = "0x" + "c" * 40
    service = make_service()  # trader's position unknown: a mirrored sell exits completely
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    await service.start_copy(GUILD, USER, other, budget_usd=100, per_trade_usd=10)
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid, wallet=other)
    both = (await position(pool, yes))["size"]  # type: ignore[index]
    await service.stop_copy(GUILD, USER, TRADER)
    await service.load()
    assert service.is_copied(TRADER)  # stopped, but its shares still follow the trader's sells

    [sell] = await copy_trade(service, pool, clock, asset=yes, condition_id=cid, side="SELL")
    # Only the shares bought for this copy are sold, not the other copy's in the same token.
    assert sell.status == OrderStatus.FILLED
    assert sell.size_shares == pytest.approx(both / 2)
    assert (await position(pool, yes))["size"] == pytest.approx(both / 2)  # type: ignore[index]
    # Nothing of its own left: a stopped copy makes no more orders.
    assert await copy_trade(service, pool, clock, asset=yes, condition_id=cid, side="SELL") == []
    await service.load()
    assert not service.is_copied(TRADER) and service.is_copied(other)
    await assert_books_balance(pool)
