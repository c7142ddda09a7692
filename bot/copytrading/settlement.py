"""How positions and orders end with their market: resolved markets pay 1 or 0 per share, once;
orders of a market that cannot be found for several syncs in a row become LOST.

Why exactly once: a settlement runs in one transaction that locks the position and inserts the
settlement under its UNIQUE (portfolio, token) key before any money moves, so a second pass, a
restarted one or a second process finds nothing left to pay. LOST waits for
``LOST_AFTER_SYNCS`` syncs because one missing answer is more often an upstream hiccup than a
market that is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from bot.copytrading.lifecycle import OPEN_STATUSES, transition
from bot.copytrading.models import (
    MISSING_BOOK,
    Books,
    OrderStats,
    OrderStatus,
    PaperOrder,
    PaperPosition,
    SyncReport,
)
from bot.polymarket.records import Market
from db import copytrading_queries as queries
from db import portfolio_queries

LOST_AFTER_SYNCS = 3  # a market missing this many syncs in a row makes its orders LOST


def payout(market: Market, asset: str) -> float | None:
    """1 for the winning token, 0 for the others; a resolution without a clear winner (a 50-50
    split) pays the final price; None when it cannot be told yet."""
    if asset not in market.token_ids:
        return None
    index = market.token_ids.index(asset)
    if market.winner_index is not None:
        return 1.0 if market.winner_index == index else 0.0
    if index < len(market.prices) and 0.0 <= market.prices[index] <= 1.0:
        return market.prices[index]
    return None


async def settle(
    pool: asyncpg.Pool,
    positions: Sequence[PaperPosition],
    books: Books,
    markets: Mapping[str, Market | None],
    *,
    now: datetime,
    report: SyncReport,
) -> None:
    """Pay the positions whose market resolved (no live book, a known winner or final price)."""
    for position in positions:
        if books.get(position.asset) is not MISSING_BOOK:
            continue  # a live book means an open market
        market = markets.get(position.condition_id)
        if market is None or not market.resolved:
            continue
        paid = payout(market, position.asset)
        if paid is None:
            continue
        if await _settle_one(pool, position, paid, now):
            report.settled += 1


async def _settle_one(
    pool: asyncpg.Pool, position: PaperPosition, paid: float, now: datetime
) -> bool:
    """One transaction: lock the position, claim the settlement's UNIQUE key, close the
    position and credit the cash. False when it was settled (or emptied) meanwhile."""
    async with pool.acquire() as conn, conn.transaction():
        locked = await portfolio_queries.lock_position(conn, position.portfolio_id, position.asset)
        if locked is None or locked.settled or locked.size <= 0:
            return False
        size, basis = locked.size, locked.cost_basis
        realized = size * paid - basis
        if not await portfolio_queries.insert_settlement(
            conn, locked, payout=paid, realized=realized, now=now
        ):
            return False
        await portfolio_queries.reduce_position(
            conn,
            portfolio_id=locked.portfolio_id,
            asset=locked.asset,
            size=0.0,
            cost_basis=0.0,
            realized=realized,
            closed=True,
            settled=True,
            price=paid,
            now=now,
        )
        await portfolio_queries.move_cash(conn, locked.portfolio_id, size * paid, realized)
    return True


async def count_missing(
    pool: asyncpg.Pool,
    orders: Sequence[PaperOrder],
    *,
    now: datetime,
    report: SyncReport,
    stats: OrderStats,
) -> None:
    """One more sync without these orders' markets; the ones missing ``LOST_AFTER_SYNCS`` in a
    row become LOST (each a guarded transition, so a concurrent fill wins)."""
    if not orders:
        return
    async with pool.acquire() as conn:
        missed = await queries.count_missing(
            conn, [o.id for o in orders], sorted(OPEN_STATUSES), now
        )
        for miss in missed:
            if miss.missing_syncs < LOST_AFTER_SYNCS:
                continue
            target = transition(miss.status, OrderStatus.LOST)
            lost = await queries.set_status(
                conn, miss.id, miss.status, miss.version, target, "market not found", now
            )
            if lost:
                report.lost += 1
                stats.count_reason("market not found")
