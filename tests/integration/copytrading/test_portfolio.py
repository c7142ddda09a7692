"""The /portfolio read model against real PostgreSQL and the fake Polymarket.

The promise under test: the view shows positions marked at the last sync's price, the latest
orders, the copies and one value snapshot per hour.
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
    copy_trade,
    new_market,
)


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
