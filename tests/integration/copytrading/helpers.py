"""Building blocks of the copy-trading integration tests: stored trades, the rows the tests
read back, and the bookkeeping check every money-moving test ends with."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from bot.copytrading.models import PaperOrder
from bot.copytrading.service import CopyTradingService
from bot.events import EventBus, StoredTrade, TradesStored
from bot.polymarket.records import Trade, trade_key
from db import trade_queries
from tests.factories import Clock
from tests.fakes.polymarket import FakePolymarket

TRADER = "0x" + "a" * 40
OTHER_TRADER = "0x" + "b" * 40
GUILD = 10
USER = 20
_tx = itertools.count(1)


Factory = Callable[..., CopyTradingService]


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


def stored_event(*trades: Trade) -> TradesStored:
    """The event of one stored batch of these trades, in this order."""
    return TradesStored(tuple(StoredTrade(t.wallet, t.key) for t in trades))


def subscribed_bus(service: CopyTradingService) -> EventBus:
    """A bus whose stored batches reach ``service`` as the application wires it."""
    bus = EventBus()
    bus.subscribe(TradesStored, service.on_trades_stored)
    return bus
