"""The order sync pass against real PostgreSQL and the fake Polymarket (real HTTP stack).

The promises under test: fills follow the live book, open orders expire, each book is fetched
once per pass, and no cancelled sync or second process ever fills anything twice (cash + cost
basis - realized PnL stays equal to what was deposited).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from bot.copytrading.fills import parse_levels
from bot.copytrading.models import OrderStatus
from bot.polymarket.gamma import ClobAPI
from bot.polymarket.http import PolymarketHTTP
from db import portfolio_queries
from tests.fakes.polymarket import FakePolymarket
from tests.integration.copytrading.helpers import (
    GUILD,
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


# ---- one book per token, crashes ------------------------------------------------------------


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


async def test_a_cancelled_sync_returns_only_once_every_fill_has_stopped(
    pool: asyncpg.Pool,
    fake: FakePolymarket,
    make_service: Factory,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fills of different portfolios run side by side; cancelling the pass must wait for all of
    them, or a fill still committing would land after the caller (a restart, a shutdown
    closing the pool, the books check) believes the pass is over. Deterministic: every fill is
    held inside its transaction until the cancel, and one of them is slow to stop."""
    service = make_service()
    cid, (yes, _) = new_market(fake, 0.7)
    for user in range(2):
        await service.start_copy(GUILD, USER + user, TRADER, budget_usd=100, per_trade_usd=20)
    await copy_trade(service, pool, clock, asset=yes, condition_id=cid)
    assert {r["status"] for r in await orders(pool)} == {"PENDING"}
    fake.set_price(yes, 0.5)  # both orders can fill now
    portfolios = {r["portfolio_id"] for r in await orders(pool)}
    inside: set[int] = set()
    stopped: set[int] = set()
    all_inside = asyncio.Event()

    async def held_move_cash(conn: object, portfolio_id: int, amount: float, *_: float) -> None:
        inside.add(portfolio_id)
        if inside == portfolios:
            all_inside.set()
        try:
            await asyncio.Event().wait()  # only the cancel gets a fill out of here
        except asyncio.CancelledError:
            if portfolio_id == max(portfolios):
                await asyncio.sleep(0.05)  # e.g. a COMMIT still on its way
            raise
        finally:
            stopped.add(portfolio_id)

    monkeypatch.setattr(portfolio_queries, "move_cash", held_move_cash)
    task = asyncio.create_task(service.sync())
    await asyncio.wait_for(all_inside.wait(), timeout=5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert stopped == portfolios  # nothing of the pass is still running
    assert {r["status"] for r in await orders(pool)} == {"PENDING"}  # both rolled back
    await assert_books_balance(pool)
    monkeypatch.undo()
    await service.sync()
    assert {r["status"] for r in await orders(pool)} == {"FILLED"}
    await assert_books_balance(pool)


async def test_a_pass_writes_only_the_orders_whose_state_changed(
    pool: asyncpg.Pool, fake: FakePolymarket, make_service: Factory, clock: Clock
) -> None:
    service = make_service()
    cid, (yes, _) = new_market(fake)
    await service.start_copy(GUILD, USER, TRADER, budget_usd=1_000, per_trade_usd=10)
    for _ in range(3):  # far below the book: they wait, PENDING
        await copy_trade(service, pool, clock, asset=yes, condition_id=cid, price=0.3)
    before = {r["id"]: (r["version"], r["updated_at"]) for r in await orders(pool)}
    assert {r["status"] for r in await orders(pool)} == {"PENDING"}

    report = await service.sync()
    assert report.unfilled == 3
    after = {r["id"]: (r["version"], r["updated_at"]) for r in await orders(pool)}
    assert after == before  # nothing changed, nothing written

    await pool.execute("UPDATE paper_orders SET missing_syncs = 1 WHERE id = $1", min(before))
    await service.sync()  # the market is back: that count is cleared, one order written
    rows = {r["id"]: r for r in await orders(pool)}
    assert rows[min(before)]["missing_syncs"] == 0
    assert rows[min(before)]["version"] == before[min(before)][0] + 1
    assert all(rows[i]["version"] == before[i][0] for i in before if i != min(before))
