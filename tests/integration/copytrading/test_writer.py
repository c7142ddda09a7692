"""The order writer against real PostgreSQL and the fake Polymarket (real HTTP stack).

The promises under test: a copied trade makes exactly one paper order per copy (whatever the
duplicates), budgets cap what is spent, sells mirror the trader's share, the writer retries a
failed write and catches up after a crash (cash + cost basis - realized PnL stays equal to what
was deposited).
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.copytrading.models import OrderStatus, PaperOrder
from bot.events import StoredTrade, TradesStored
from tests.fakes.polymarket import FakePolymarket
from tests.integration.copytrading.helpers import (
    GUILD,
    OTHER_TRADER,
    TRADER,
    USER,
    Clock,
    Factory,
    assert_books_balance,
    copy_trade,
    new_market,
    orders,
    portfolio_row,
    position,
    store_trade,
    stored_event,
    subscribed_bus,
)

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
    bus = subscribed_bus(service)
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    trade = await store_trade(pool, clock, asset=yes, condition_id=cid)
    for _ in range(3):  # stream, orders_matched and backfill all report the same fill
        bus.publish(stored_event(trade))
    await asyncio.sleep(0.05)
    assert service.queue.qsize() == 1  # nothing written yet: the handler only enqueued
    await service.start()
    await asyncio.wait_for(service.queue.join(), 5)
    await service.stop()
    assert len(await orders(pool)) == 1
    # Again later, from this process and from a second one at the same time.
    other = make_service()
    await asyncio.gather(service.process_trade(trade.key), other.process_trade(trade.key))
    bus.publish(stored_event(trade))
    await service.start()
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
    await service.on_trades_stored(TradesStored((StoredTrade(OTHER_TRADER, "k0"),)))
    assert service.queue.qsize() == 0
    batch = [(OTHER_TRADER, "k1"), (TRADER, "k2"), (TRADER.upper(), "k3"), (TRADER, "k2")]
    await service.on_trades_stored(TradesStored(tuple(StoredTrade(w, k) for w, k in batch)))
    assert [service.queue.get_nowait() for _ in range(service.queue.qsize())] == ["k2", "k3"]
    assert service.stats.deduplicated == 1


async def test_a_stored_batch_is_one_event_and_each_trade_gets_its_orders_in_batch_order(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    bus = subscribed_bus(service)
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    trades = [await store_trade(pool, clock, asset=yes, condition_id=cid) for _ in range(4)]
    other = await store_trade(pool, clock, asset=yes, condition_id=cid, wallet=OTHER_TRADER)
    batch = [trades[2], other, trades[0], trades[3], trades[1]]  # not the order they were made
    bus.publish(stored_event(*batch))
    await bus.drain()
    assert bus.published == {"TradesStored": 1}
    assert service.stats.queued == 4  # each copied trade once; nobody copies OTHER_TRADER
    await service.start()
    await asyncio.wait_for(service.queue.join(), 5)
    await service.stop()
    rows = await orders(pool)  # by id: the order they were written in
    assert [r["trade_key"] for r in rows] == [t.key for t in batch if t is not other]
    await assert_books_balance(pool)


async def test_a_trade_that_cannot_be_queued_costs_no_other_trade_of_its_batch(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    make_service: Factory,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    first, broken, last = [
        await store_trade(pool, clock, asset=yes, condition_id=cid) for _ in "abc"
    ]
    real = service.writer.enqueue

    def enqueue(wallet: str, key: str) -> None:
        if key == broken.key:
            raise RuntimeError("boom")
        real(wallet, key)

    service.writer.enqueue = enqueue  # type: ignore[method-assign]
    await service.on_trades_stored(stored_event(first, broken, last))
    assert f"could not queue paper orders for trade {broken.key}" in caplog.text
    assert [service.queue.get_nowait() for _ in range(2)] == [first.key, last.key]
    assert service.queue.empty()


async def test_a_trade_whose_orders_keep_failing_costs_no_other_trade_of_its_batch(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service(max_bug_retries=1)
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=100, per_trade_usd=10)
    first, broken, last = [
        await store_trade(pool, clock, asset=yes, condition_id=cid) for _ in "abc"
    ]
    real = service.process_trade

    async def buggy(key: str) -> list[PaperOrder]:
        if key == broken.key:
            raise ValueError("a bug in sizing this one trade")
        return await real(key)

    service.process_trade = buggy  # type: ignore[method-assign]
    await service.on_trades_stored(stored_event(first, broken, last))
    await service.start()
    await asyncio.wait_for(service.queue.join(), 5)
    await service.stop()
    assert service.stats.dropped == 1
    assert [r["trade_key"] for r in await orders(pool)] == [first.key, last.key]
    await assert_books_balance(pool)


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
    await service.start()
    await service.on_trades_stored(stored_event(trade))
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
    await restarted.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(restarted.queue.join(), 5)
    await restarted.stop()
    rows = await orders(pool)
    assert [r["trade_key"] for r in rows] == [lost.key]
    assert old.key not in {r["trade_key"] for r in rows}


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
