"""The /portfolio read model and the marks behind it: positions valued at the last sync's book
mid, and one value snapshot per portfolio per hour (the portfolio chart).

Why marks are written by the sync pass rather than fetched by /portfolio: a command must answer
from PostgreSQL alone (no upstream call on the command path), and the sync already holds every
open position's book, fetched once per token.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg

from bot.copytrading.common import Clock, utc
from bot.copytrading.fills import book_mid
from bot.copytrading.models import (
    Books,
    CopyConfig,
    OrderRow,
    PaperOrder,
    PaperPosition,
    Portfolio,
    PortfolioView,
    PositionView,
    SyncReport,
    ValuePoint,
)
from bot.trades.cards import BURST_WINDOW
from db import copytrading_queries as queries
from db import portfolio_queries

SNAPSHOT_SECONDS = 3600  # one value point per portfolio per hour
ORDERS_READ = 50  # orders read for the list: enough to fill its lines after bursts are merged


# ---- pure ----------------------------------------------------------------------------------


def position_view(position: PaperPosition) -> PositionView:
    """An open position marked at its last price (its average price before the first mark)."""
    price = position.last_price
    value = position.size * (price if price is not None else position.avg_price)
    return PositionView(
        asset=position.asset,
        condition_id=position.condition_id,
        title=position.title,
        outcome=position.outcome,
        size=position.size,
        avg_price=position.avg_price,
        cost_basis=position.cost_basis,
        price=price,
        value=value,
        unrealized_pnl=value - position.cost_basis,
        realized_pnl=position.realized_pnl,
    )


def order_rows(orders: Sequence[PaperOrder]) -> list[OrderRow]:
    """The orders as /portfolio lists them, newest first: the orders of one copy in one token
    and side made within BURST_WINDOW of the burst's first are one line (the trader's burst of
    fills, as its alert shows it as one card)."""
    bursts: list[list[PaperOrder]] = []
    open_bursts: dict[tuple[int, str, str], int] = {}
    for order in sorted(orders, key=lambda o: (o.created_at, o.id)):
        key = (order.config_id, order.asset, order.side)
        index = open_bursts.get(key)
        if index is not None and order.created_at - bursts[index][0].created_at <= BURST_WINDOW:
            bursts[index].append(order)
            continue
        open_bursts[key] = len(bursts)
        bursts.append([order])
    return [_row(burst) for burst in reversed(bursts)]


def _row(burst: Sequence[PaperOrder]) -> OrderRow:
    first, last = burst[0], burst[-1]
    statuses = Counter(o.status for o in burst)
    return OrderRow(
        wallet=first.wallet,
        title=first.title,
        outcome=first.outcome,
        side=first.side,
        fills=len(burst),
        statuses=tuple(statuses.most_common()),
        reason=next((o.reason for o in burst if o.reason), ""),
        filled_shares=sum(o.filled_shares for o in burst),
        filled_usd=sum(o.filled_usd for o in burst),
        requested=sum(o.requested for o in burst),
        limit_price=first.limit_price,
        created_at=last.created_at,
    )


def build_view(
    portfolio: Portfolio,
    positions: Sequence[PaperPosition],
    orders: Sequence[PaperOrder],
    history: Sequence[ValuePoint],
    copies: Sequence[CopyConfig],
) -> PortfolioView:
    """Everything /portfolio shows, from what is stored. A position counts towards the win rate
    once it is closed (sold out or settled)."""
    open_views = []
    closed = wins = 0
    for position in positions:
        if position.size > 0 and not position.settled:
            open_views.append(position_view(position))
        elif position.closed_at is not None:
            closed += 1
            wins += position.realized_pnl > 0
    return PortfolioView(
        guild_id=portfolio.guild_id,
        user_id=portfolio.user_id,
        cash=portfolio.cash,
        deposited=portfolio.deposited,
        realized_pnl=portfolio.realized_pnl,
        unrealized_pnl=sum(v.unrealized_pnl for v in open_views),
        value=portfolio.cash + sum(v.value for v in open_views),
        positions=tuple(open_views),
        closed_positions=closed,
        winning_positions=wins,
        orders=tuple(orders),
        history=tuple(history),
        copies=tuple(copies),
        order_rows=tuple(order_rows(orders)),
    )


def marks(books: Books) -> dict[str, float]:
    """Each token's value from its book (mid, else last trade, else the one side there is);
    tokens without a live book are left out and keep their last mark."""
    return {
        token: mid
        for token, book in books.items()
        if isinstance(book, dict) and (mid := book_mid(book)) is not None
    }


def snapshot_hour(now: float) -> int:
    """The start of the hour ``now`` falls in: the key of that hour's snapshot."""
    return int(now // SNAPSHOT_SECONDS) * SNAPSHOT_SECONDS


# ---- stored --------------------------------------------------------------------------------


class Portfolios:
    """Reads portfolio views; writes marks and the hourly snapshot after each sync."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock
        self._snapshot_hour: int | None = None  # the last hour this process wrote

    async def view(
        self, guild_id: int, user_id: int, *, orders: int = ORDERS_READ, history_days: float = 30.0
    ) -> PortfolioView | None:
        """Cash, open positions marked at the last sync's price, realised PnL, win rate, the
        latest orders and the value history; None when the user never copied anyone."""
        since = utc(self._clock() - history_days * 86_400)
        async with self._pool.acquire() as conn:
            portfolio = await portfolio_queries.portfolio_of(conn, guild_id, user_id)
            if portfolio is None:
                return None
            positions = await portfolio_queries.positions_of(conn, portfolio.id)
            latest = await queries.latest_orders(conn, portfolio.id, orders)
            history = await portfolio_queries.snapshots_of(conn, portfolio.id, since)
            copies = await queries.configs_of(conn, guild_id, user_id)
        return build_view(portfolio, positions, latest, history, copies)

    async def mark(self, books: Books, now: float, report: SyncReport) -> None:
        """Mark positions to the books just fetched; once an hour, snapshot every portfolio
        (a second process or a restart in the same hour writes nothing: UNIQUE per hour)."""
        prices = marks(books)
        async with self._pool.acquire() as conn:
            await portfolio_queries.set_last_prices(conn, prices)
            hour = snapshot_hour(now)
            if hour != self._snapshot_hour:
                report.snapshots = await portfolio_queries.write_snapshots(conn, utc(hour))
                self._snapshot_hour = hour
