"""Starting and stopping copies against real PostgreSQL and the fake Polymarket.

The promises under test: stopping a copy cancels its open orders and keeps its positions, and a
stopped copy still follows the trader's sells out of its own shares (and only those).
"""

from __future__ import annotations

import asyncpg
import pytest

from bot.copytrading.models import OrderStatus
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
    position,
)


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
