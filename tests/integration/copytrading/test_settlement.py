"""Settlement and LOST against real PostgreSQL and the fake Polymarket (real HTTP stack).

The promises under test: a resolved market pays each position exactly once, whatever the number
of passes or processes, and only a market missing three syncs in a row (not an outage) makes its
orders LOST.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.copytrading.models import OrderStatus
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
)


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
