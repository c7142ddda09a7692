"""SQL for the paper portfolios of copy trading: cash, positions, settlements, value snapshots
and the /portfolio read model.

Why the guards look the way they do: a fill or a settlement reads the position under a row lock
(``lock_position``) and computes its new size and cost basis from what it read, and a
settlement's UNIQUE key makes a second payout impossible, so a retry after a crash or two
processes over one database move money at most once. Callers run these inside the transaction
of the order update they belong to (see ``bot/copytrading/``).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.copytrading.models import PaperPosition, Portfolio, ValuePoint
from db.pool import Connection

POSITION_COLUMNS = (
    "portfolio_id, asset, condition_id, title, outcome, size, cost_basis, avg_price, realized_pnl,"
    " last_price, settled, closed_at"
)


def _count(result: str) -> int:
    return int(result.split()[-1])


def _position(row: asyncpg.Record) -> PaperPosition:
    closed = row["closed_at"]
    return PaperPosition(
        portfolio_id=row["portfolio_id"],
        asset=row["asset"],
        condition_id=row["condition_id"],
        title=row["title"],
        outcome=row["outcome"],
        size=row["size"],
        cost_basis=row["cost_basis"],
        avg_price=row["avg_price"],
        realized_pnl=row["realized_pnl"],
        last_price=row["last_price"],
        settled=row["settled"],
        closed_at=closed.timestamp() if closed is not None else None,
    )


# ---- portfolios, positions and cash ----------------------------------------------------------


async def deposit(
    conn: Connection, guild_id: int, user_id: int, amount: float, now: datetime
) -> int:
    """Create the portfolio on first use, add ``amount`` to its cash; returns its id."""
    portfolio_id: int = await conn.fetchval(
        "INSERT INTO portfolios (guild_id, user_id, cash, deposited, created_at)"
        " VALUES ($1, $2, $3, $3, $4) ON CONFLICT (guild_id, user_id) DO UPDATE"
        " SET cash = portfolios.cash + EXCLUDED.cash,"
        " deposited = portfolios.deposited + EXCLUDED.deposited RETURNING id",
        guild_id,
        user_id,
        amount,
        now,
    )
    return portfolio_id


async def lock_position(conn: Connection, portfolio_id: int, asset: str) -> PaperPosition | None:
    """The position, locked until the transaction ends: a fill or settlement computes the new
    size and cost basis from it."""
    row = await conn.fetchrow(
        f"SELECT {POSITION_COLUMNS} FROM paper_positions WHERE portfolio_id = $1 AND asset = $2"
        " FOR UPDATE",
        portfolio_id,
        asset,
    )
    return None if row is None else _position(row)


async def position_size(conn: Connection, portfolio_id: int, asset: str) -> float:
    value = await conn.fetchval(
        "SELECT size FROM paper_positions WHERE portfolio_id = $1 AND asset = $2 AND NOT settled",
        portfolio_id,
        asset,
    )
    return float(value or 0.0)


async def reduce_position(
    conn: Connection,
    *,
    portfolio_id: int,
    asset: str,
    size: float,
    cost_basis: float,
    realized: float,
    closed: bool,
    settled: bool,
    price: float | None,
    now: datetime,
) -> None:
    """A SELL fill or a settlement: the new size and cost basis, computed under the row lock."""
    await conn.execute(
        "UPDATE paper_positions SET size = $3, cost_basis = $4, realized_pnl = realized_pnl + $5,"
        " closed_at = CASE WHEN $6::bool THEN $9::timestamptz END, settled = settled OR $7,"
        " last_price = COALESCE($8, last_price), updated_at = $9"
        " WHERE portfolio_id = $1 AND asset = $2",
        portfolio_id,
        asset,
        size,
        cost_basis,
        realized,
        closed,
        settled,
        price,
        now,
    )


async def move_cash(
    conn: Connection, portfolio_id: int, amount: float, realized: float = 0.0
) -> None:
    await conn.execute(
        "UPDATE portfolios SET cash = cash + $2, realized_pnl = realized_pnl + $3 WHERE id = $1",
        portfolio_id,
        amount,
        realized,
    )


async def open_positions(conn: Connection) -> list[PaperPosition]:
    rows = await conn.fetch(
        f"SELECT {POSITION_COLUMNS} FROM paper_positions WHERE size > 0 AND NOT settled"
    )
    return [_position(row) for row in rows]


async def insert_settlement(
    conn: Connection,
    position: PaperPosition,
    *,
    payout: float,
    realized: float,
    now: datetime,
) -> bool:
    """The exactly-once key of a settlement; False when it was settled already."""
    result = await conn.execute(
        "INSERT INTO settlements (portfolio_id, asset, condition_id, size, payout, proceeds,"
        " realized_pnl, settled_at) VALUES ($1, $2, $3, $4, $5, $4::float8 * $5::float8, $6, $7)"
        " ON CONFLICT (portfolio_id, asset) DO NOTHING",
        position.portfolio_id,
        position.asset,
        position.condition_id,
        position.size,
        payout,
        realized,
        now,
    )
    return _count(result) == 1


async def set_last_prices(conn: Connection, prices: dict[str, float]) -> None:
    if not prices:
        return
    await conn.execute(
        "UPDATE paper_positions p SET last_price = u.price FROM unnest($1::text[], $2::float8[])"
        " AS u(asset, price) WHERE p.asset = u.asset AND p.size > 0",
        list(prices),
        list(prices.values()),
    )


async def write_snapshots(conn: Connection, hour: datetime) -> int:
    """Every portfolio's value (cash + open positions at their last price) for ``hour``."""
    result = await conn.execute(
        "INSERT INTO portfolio_snapshots (portfolio_id, hour, cash, value)"
        " SELECT p.id, $1, p.cash, p.cash + COALESCE(sum(pos.size"
        " * COALESCE(pos.last_price, pos.avg_price)), 0)"
        " FROM portfolios p LEFT JOIN paper_positions pos"
        " ON pos.portfolio_id = p.id AND pos.size > 0 AND NOT pos.settled"
        " GROUP BY p.id, p.cash ON CONFLICT (portfolio_id, hour) DO NOTHING",
        hour,
    )
    return _count(result)


# ---- the /portfolio read model ---------------------------------------------------------------


async def portfolio_of(conn: Connection, guild_id: int, user_id: int) -> Portfolio | None:
    row = await conn.fetchrow(
        "SELECT id, guild_id, user_id, cash, deposited, realized_pnl FROM portfolios"
        " WHERE guild_id = $1 AND user_id = $2",
        guild_id,
        user_id,
    )
    if row is None:
        return None
    return Portfolio(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        cash=row["cash"],
        deposited=row["deposited"],
        realized_pnl=row["realized_pnl"],
    )


async def positions_of(conn: Connection, portfolio_id: int) -> list[PaperPosition]:
    """Open positions first, then the most recently changed."""
    rows = await conn.fetch(
        f"SELECT {POSITION_COLUMNS} FROM paper_positions WHERE portfolio_id = $1"
        " ORDER BY size > 0 DESC, updated_at DESC",
        portfolio_id,
    )
    return [_position(row) for row in rows]


async def snapshots_of(conn: Connection, portfolio_id: int, since: datetime) -> list[ValuePoint]:
    """The portfolio's hourly values since ``since``, oldest first."""
    rows = await conn.fetch(
        "SELECT hour, cash, value FROM portfolio_snapshots WHERE portfolio_id = $1"
        " AND hour >= $2 ORDER BY hour",
        portfolio_id,
        since,
    )
    return [ValuePoint(row["hour"].timestamp(), row["cash"], row["value"]) for row in rows]
