"""SQL for paper copy-trading: portfolios, copy configs, paper orders, positions, settlements and
value snapshots.

Why the guards look the way they do: every write that moves money is conditional on what the
caller last read (``status`` and ``version`` of an order, the UNIQUE key of a settlement or an
order), so a retry after a crash, a sync cancelled mid-way and restarted, or two processes over
one database each apply a fill or a settlement at most once. Callers run the money-moving
functions inside one transaction (see ``bot/copytrading/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

ORDER_COLUMNS = (
    "id, idempotency_key, config_id, portfolio_id, trade_key, wallet, asset, condition_id, title,"
    " outcome, side, trade_price, limit_price, size_usd, size_shares, filled_shares, filled_usd,"
    " taken, status, reason, version, attempts, missing_syncs, created_at, updated_at"
)
CONFIG_COLUMNS = (
    "id, portfolio_id, guild_id, user_id, wallet, budget_usd, per_trade_usd, active, created_at,"
    " stopped_at"
)
POSITION_COLUMNS = (
    "portfolio_id, asset, condition_id, title, outcome, size, cost_basis, avg_price, realized_pnl,"
    " last_price, settled, opened_at, closed_at"
)


def _count(result: str) -> int:
    return int(result.split()[-1])


# ---- portfolios and copy configs -----------------------------------------------------------


async def deposit(
    conn: asyncpg.Connection, guild_id: int, user_id: int, amount: float, now: datetime
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


async def insert_config(
    conn: asyncpg.Connection,
    portfolio_id: int,
    guild_id: int,
    user_id: int,
    wallet: str,
    budget_usd: float,
    per_trade_usd: float,
    now: datetime,
) -> asyncpg.Record:
    """Raises UniqueViolationError when the user already copies that wallet."""
    row = await conn.fetchrow(
        "INSERT INTO copy_configs (portfolio_id, guild_id, user_id, wallet, budget_usd,"
        " per_trade_usd, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        f" RETURNING {CONFIG_COLUMNS}",
        portfolio_id,
        guild_id,
        user_id,
        wallet,
        budget_usd,
        per_trade_usd,
        now,
    )
    assert row is not None
    return row


async def count_active_configs(conn: asyncpg.Connection, guild_id: int, user_id: int) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM copy_configs WHERE guild_id = $1 AND user_id = $2 AND active",
        guild_id,
        user_id,
    )
    return count


async def deactivate_config(
    conn: asyncpg.Connection, guild_id: int, user_id: int, wallet: str, now: datetime
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "UPDATE copy_configs SET active = false, stopped_at = $4"
        " WHERE guild_id = $1 AND user_id = $2 AND wallet = $3 AND active"
        f" RETURNING {CONFIG_COLUMNS}",
        guild_id,
        user_id,
        wallet,
        now,
    )


async def configs_of(
    conn: asyncpg.Connection, guild_id: int, user_id: int, *, active_only: bool = True
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE guild_id = $1 AND user_id = $2"
        " AND (active OR NOT $3) ORDER BY created_at, id",
        guild_id,
        user_id,
        active_only,
    )


async def active_configs_for_wallet(conn: asyncpg.Connection, wallet: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE wallet = $1 AND active ORDER BY id",
        wallet,
    )


async def all_configs_for_wallet(conn: asyncpg.Connection, wallet: str) -> list[asyncpg.Record]:
    """Stopped copies too: a stopped copy still follows the trader's sells out of its shares."""
    return await conn.fetch(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE wallet = $1 ORDER BY id", wallet
    )


_NET_SHARES = (
    "COALESCE(sum(CASE WHEN o.side = 'BUY' THEN o.filled_shares ELSE -o.filled_shares END), 0)"
)


async def config_net_shares(conn: asyncpg.Connection, config_id: int, asset: str) -> float:
    """Shares of a token this copy bought and has not sold: what its mirrored sells may sell."""
    value = await conn.fetchval(
        f"SELECT {_NET_SHARES} FROM paper_orders o WHERE o.config_id = $1 AND o.asset = $2",
        config_id,
        asset,
    )
    return float(value or 0.0)


async def copied_wallets(conn: asyncpg.Connection) -> set[str]:
    """Wallets whose trades matter: actively copied, or stopped with shares still held."""
    rows = await conn.fetch(
        "SELECT DISTINCT wallet FROM copy_configs WHERE active UNION"
        " SELECT c.wallet FROM copy_configs c JOIN paper_orders o ON o.config_id = c.id"
        " JOIN paper_positions p ON p.portfolio_id = o.portfolio_id AND p.asset = o.asset"
        " WHERE NOT c.active AND p.size > 0 AND NOT p.settled"
        f" GROUP BY c.id, c.wallet, o.asset HAVING {_NET_SHARES} > 0"
    )
    return {row["wallet"] for row in rows}


async def lock_config(conn: asyncpg.Connection, config_id: int) -> asyncpg.Record | None:
    """Serialises order creation per config, so two writers cannot both spend the last dollar."""
    return await conn.fetchrow(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE id = $1 FOR UPDATE", config_id
    )


async def committed_usd(
    conn: asyncpg.Connection, config_id: int, open_statuses: Sequence[str]
) -> float:
    """Budget a config has used: the cost of its filled BUYs plus what its open BUYs reserve."""
    value: float = await conn.fetchval(
        "SELECT COALESCE(sum(CASE WHEN status = ANY($2::text[])"
        " THEN greatest(size_usd, filled_usd) ELSE filled_usd END), 0)"
        " FROM paper_orders WHERE config_id = $1 AND side = 'BUY'",
        config_id,
        list(open_statuses),
    )
    return float(value)


async def trades_without_orders(
    conn: asyncpg.Connection, since: datetime, backdate_seconds: float
) -> list[str]:
    """Stored trades since ``since`` of actively copied wallets that some active copy of the
    wallet (which existed when the trade was made) has no order for yet, oldest first."""
    rows = await conn.fetch(
        "SELECT t.trade_key, min(t.traded_at) AS at FROM trades t"
        " JOIN copy_configs c ON c.wallet = t.wallet AND c.active"
        " WHERE t.traded_at >= $1"
        " AND t.traded_at >= c.created_at - make_interval(secs => $2)"
        " AND NOT EXISTS (SELECT 1 FROM paper_orders o"
        " WHERE o.idempotency_key = c.id::text || ':' || t.trade_key)"
        " GROUP BY t.trade_key ORDER BY at, t.trade_key",
        since,
        backdate_seconds,
    )
    return [row["trade_key"] for row in rows]


# ---- orders --------------------------------------------------------------------------------


async def insert_order(
    conn: asyncpg.Connection,
    *,
    idempotency_key: str,
    config_id: int,
    portfolio_id: int,
    trade_key: str,
    wallet: str,
    asset: str,
    condition_id: str,
    title: str,
    outcome: str,
    side: str,
    trade_price: float,
    limit_price: float,
    size_usd: float,
    size_shares: float,
    now: datetime,
) -> asyncpg.Record | None:
    """A new PLACED order, or None when this (config, trade) already has one."""
    return await conn.fetchrow(
        "INSERT INTO paper_orders (idempotency_key, config_id, portfolio_id, trade_key, wallet,"
        " asset, condition_id, title, outcome, side, trade_price, limit_price, size_usd,"
        " size_shares, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)"
        f" ON CONFLICT (idempotency_key) DO NOTHING RETURNING {ORDER_COLUMNS}",
        idempotency_key,
        config_id,
        portfolio_id,
        trade_key,
        wallet,
        asset,
        condition_id,
        title,
        outcome,
        side,
        trade_price,
        limit_price,
        size_usd,
        size_shares,
        now,
    )


async def existing_orders(conn: asyncpg.Connection, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys already have an order."""
    if not keys:
        return set()
    rows = await conn.fetch(
        "SELECT idempotency_key FROM paper_orders WHERE idempotency_key = ANY($1::text[])",
        list(keys),
    )
    return {row["idempotency_key"] for row in rows}


async def set_status(
    conn: asyncpg.Connection,
    order_id: int,
    expected_status: str,
    expected_version: int,
    status: str,
    reason: str,
    now: datetime,
) -> bool:
    """One guarded transition without a fill; False when the order moved on meanwhile."""
    result = await conn.execute(
        "UPDATE paper_orders SET status = $4, reason = $5, version = version + 1,"
        " attempts = attempts + 1, updated_at = $6"
        " WHERE id = $1 AND status = $2 AND version = $3",
        order_id,
        expected_status,
        expected_version,
        status,
        reason,
        now,
    )
    return _count(result) == 1


async def record_fill(
    conn: asyncpg.Connection,
    order_id: int,
    expected_status: str,
    expected_version: int,
    status: str,
    shares: float,
    usd: float,
    taken: dict[str, float],
    now: datetime,
) -> bool:
    """Add a fill to an order if it is still exactly as read; False means someone else did.
    ``taken`` is the order's whole per-level take after this fill."""
    result = await conn.execute(
        "UPDATE paper_orders SET status = $4, filled_shares = filled_shares + $5,"
        " filled_usd = filled_usd + $6, taken = $7::jsonb, version = version + 1,"
        " attempts = attempts + 1, missing_syncs = 0, updated_at = $8"
        " WHERE id = $1 AND status = $2 AND version = $3",
        order_id,
        expected_status,
        expected_version,
        status,
        shares,
        usd,
        taken,
        now,
    )
    return _count(result) == 1


async def record_buy_fill(
    conn: asyncpg.Connection,
    *,
    order_id: int,
    expected_status: str,
    expected_version: int,
    status: str,
    shares: float,
    usd: float,
    taken: dict[str, float],
    portfolio_id: int,
    asset: str,
    condition_id: str,
    title: str,
    outcome: str,
    now: datetime,
) -> bool:
    """A BUY fill's order and position in one statement: the guarded order update, then (only
    if it applied) the position; a settled position refuses new shares. False: nothing changed.
    The caller debits the cash in the same transaction: the portfolio row is shared by every
    fill of the portfolio, and a concurrent update's recheck (EvalPlanQual) must not depend on
    a CTE's output, so that update stays a plain statement of its own."""
    applied: int = await conn.fetchval(
        "WITH o AS (UPDATE paper_orders SET status = $4, filled_shares = filled_shares + $5,"
        " filled_usd = filled_usd + $6, taken = $7::jsonb, version = version + 1,"
        " attempts = attempts + 1, missing_syncs = 0, updated_at = $8"
        " WHERE id = $1 AND status = $2 AND version = $3 AND NOT EXISTS (SELECT 1 FROM"
        " paper_positions s WHERE s.portfolio_id = $9 AND s.asset = $10 AND s.settled)"
        " RETURNING id),"
        " pos AS (INSERT INTO paper_positions (portfolio_id, asset, condition_id, title, outcome,"
        " size, cost_basis, avg_price, opened_at, updated_at)"
        " SELECT $9, $10, $11, $12, $13, $5::float8, $6::float8, $6::float8 / $5::float8, $8, $8"
        " FROM o ON CONFLICT (portfolio_id, asset) DO UPDATE SET"
        " size = paper_positions.size + EXCLUDED.size,"
        " cost_basis = paper_positions.cost_basis + EXCLUDED.cost_basis,"
        " avg_price = (paper_positions.cost_basis + EXCLUDED.cost_basis)"
        " / (paper_positions.size + EXCLUDED.size),"
        " closed_at = NULL, updated_at = EXCLUDED.updated_at RETURNING 1)"
        " SELECT count(*) FROM pos",
        order_id,
        expected_status,
        expected_version,
        status,
        shares,
        usd,
        taken,
        now,
        portfolio_id,
        asset,
        condition_id,
        title,
        outcome,
    )
    return applied == 1


async def cancel_where(
    conn: asyncpg.Connection,
    *,
    from_statuses: Sequence[str],
    reason: str,
    now: datetime,
    config_id: int | None = None,
    created_before: datetime | None = None,
    asset: str | None = None,
    side: str | None = None,
) -> list[int]:
    """Cancel every order in ``from_statuses`` matching the filters given (config, created
    before a time, token, side)."""
    rows = await conn.fetch(
        "UPDATE paper_orders SET status = 'CANCELLED', reason = $2, version = version + 1,"
        " updated_at = $3 WHERE status = ANY($1::text[])"
        " AND ($4::int8 IS NULL OR config_id = $4)"
        " AND ($5::timestamptz IS NULL OR created_at < $5)"
        " AND ($6::text IS NULL OR asset = $6) AND ($7::text IS NULL OR side = $7) RETURNING id",
        list(from_statuses),
        reason,
        now,
        config_id,
        created_before,
        asset,
        side,
    )
    return [row["id"] for row in rows]


async def open_orders(conn: asyncpg.Connection, statuses: Sequence[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE status = ANY($1::text[]) ORDER BY id",
        list(statuses),
    )


async def order_by_id(conn: asyncpg.Connection, order_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE id = $1", order_id)


async def touch_orders(
    conn: asyncpg.Connection,
    ids: Sequence[int],
    from_statuses: Sequence[str],
    status: str | None,
    now: datetime,
) -> int:
    """A batch of orders tried without a fill: count the attempt, move PLACED ones to PENDING.

    ``status`` None keeps each order's status. Only orders still in ``from_statuses`` change.
    """
    if not ids:
        return 0
    result = await conn.execute(
        "UPDATE paper_orders SET status = COALESCE($3, status), attempts = attempts + 1,"
        " missing_syncs = 0, version = version + 1, updated_at = $4"
        " WHERE id = ANY($1::int8[]) AND status = ANY($2::text[])",
        list(ids),
        list(from_statuses),
        status,
        now,
    )
    return _count(result)


async def count_missing(
    conn: asyncpg.Connection, ids: Sequence[int], from_statuses: Sequence[str], now: datetime
) -> list[asyncpg.Record]:
    """One more sync that could not find these orders' markets; returns (id, status, version,
    missing_syncs) after the increment, for the caller to decide which are lost."""
    if not ids:
        return []
    return await conn.fetch(
        "UPDATE paper_orders SET missing_syncs = missing_syncs + 1, attempts = attempts + 1,"
        " version = version + 1, updated_at = $3"
        " WHERE id = ANY($1::int8[]) AND status = ANY($2::text[])"
        " RETURNING id, status, version, missing_syncs",
        list(ids),
        list(from_statuses),
        now,
    )


async def latest_orders(
    conn: asyncpg.Connection, portfolio_id: int, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE portfolio_id = $1"
        " ORDER BY id DESC LIMIT $2",
        portfolio_id,
        limit,
    )


# ---- positions and cash --------------------------------------------------------------------


async def lock_position(
    conn: asyncpg.Connection, portfolio_id: int, asset: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {POSITION_COLUMNS} FROM paper_positions WHERE portfolio_id = $1 AND asset = $2"
        " FOR UPDATE",
        portfolio_id,
        asset,
    )


async def position_size(conn: asyncpg.Connection, portfolio_id: int, asset: str) -> float:
    value = await conn.fetchval(
        "SELECT size FROM paper_positions WHERE portfolio_id = $1 AND asset = $2 AND NOT settled",
        portfolio_id,
        asset,
    )
    return float(value or 0.0)


async def reduce_position(
    conn: asyncpg.Connection,
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
    conn: asyncpg.Connection, portfolio_id: int, amount: float, realized: float = 0.0
) -> None:
    await conn.execute(
        "UPDATE portfolios SET cash = cash + $2, realized_pnl = realized_pnl + $3 WHERE id = $1",
        portfolio_id,
        amount,
        realized,
    )


async def open_positions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {POSITION_COLUMNS} FROM paper_positions WHERE size > 0 AND NOT settled"
    )


async def insert_settlement(
    conn: asyncpg.Connection,
    *,
    portfolio_id: int,
    asset: str,
    condition_id: str,
    size: float,
    payout: float,
    realized: float,
    now: datetime,
) -> bool:
    """The exactly-once key of a settlement; False when it was settled already."""
    result = await conn.execute(
        "INSERT INTO settlements (portfolio_id, asset, condition_id, size, payout, proceeds,"
        " realized_pnl, settled_at) VALUES ($1, $2, $3, $4, $5, $4::float8 * $5::float8, $6, $7)"
        " ON CONFLICT (portfolio_id, asset) DO NOTHING",
        portfolio_id,
        asset,
        condition_id,
        size,
        payout,
        realized,
        now,
    )
    return _count(result) == 1


async def set_last_prices(conn: asyncpg.Connection, prices: dict[str, float]) -> None:
    if not prices:
        return
    await conn.execute(
        "UPDATE paper_positions p SET last_price = u.price FROM unnest($1::text[], $2::float8[])"
        " AS u(asset, price) WHERE p.asset = u.asset AND p.size > 0",
        list(prices),
        list(prices.values()),
    )


async def write_snapshots(conn: asyncpg.Connection, hour: datetime) -> int:
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


# ---- the /portfolio read model -------------------------------------------------------------


async def portfolio_row(
    conn: asyncpg.Connection, guild_id: int, user_id: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, guild_id, user_id, cash, deposited, realized_pnl, created_at FROM portfolios"
        " WHERE guild_id = $1 AND user_id = $2",
        guild_id,
        user_id,
    )


async def positions_of(conn: asyncpg.Connection, portfolio_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {POSITION_COLUMNS} FROM paper_positions WHERE portfolio_id = $1"
        " ORDER BY size > 0 DESC, updated_at DESC",
        portfolio_id,
    )


async def snapshots_of(
    conn: asyncpg.Connection, portfolio_id: int, since: datetime
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT hour, cash, value FROM portfolio_snapshots WHERE portfolio_id = $1"
        " AND hour >= $2 ORDER BY hour",
        portfolio_id,
        since,
    )
