"""SQL for paper copy-trading: copy configs and paper orders (portfolios, positions, settlements
and snapshots are in ``db/portfolio_queries.py``), returned as ``bot.copytrading.models`` objects.

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

from bot.copytrading.models import CopyConfig, MissedSync, OrderStatus, PaperOrder
from bot.polymarket.records import Trade
from db.pool import Connection

ORDER_COLUMNS = (
    "id, config_id, portfolio_id, trade_key, wallet, asset, condition_id, title,"
    " outcome, side, trade_price, limit_price, size_usd, size_shares, filled_shares, filled_usd,"
    " taken, status, reason, version, attempts, missing_syncs, created_at, updated_at"
)
CONFIG_COLUMNS = (
    "id, portfolio_id, guild_id, user_id, wallet, budget_usd, per_trade_usd, active, created_at,"
    " stopped_at"
)


def _count(result: str) -> int:
    return int(result.split()[-1])


def _config(row: asyncpg.Record) -> CopyConfig:
    stopped = row["stopped_at"]
    return CopyConfig(
        id=row["id"],
        portfolio_id=row["portfolio_id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        wallet=row["wallet"],
        budget_usd=row["budget_usd"],
        per_trade_usd=row["per_trade_usd"],
        active=row["active"],
        created_at=row["created_at"].timestamp(),
        stopped_at=stopped.timestamp() if stopped is not None else None,
    )


def _order(row: asyncpg.Record) -> PaperOrder:
    return PaperOrder(
        id=row["id"],
        config_id=row["config_id"],
        portfolio_id=row["portfolio_id"],
        trade_key=row["trade_key"],
        wallet=row["wallet"],
        asset=row["asset"],
        condition_id=row["condition_id"],
        title=row["title"],
        outcome=row["outcome"],
        side=row["side"],
        trade_price=row["trade_price"],
        limit_price=row["limit_price"],
        size_usd=row["size_usd"],
        size_shares=row["size_shares"],
        filled_shares=row["filled_shares"],
        filled_usd=row["filled_usd"],
        taken=dict(row["taken"] or {}),
        status=OrderStatus(row["status"]),
        reason=row["reason"],
        version=row["version"],
        attempts=row["attempts"],
        missing_syncs=row["missing_syncs"],
        created_at=row["created_at"].timestamp(),
        updated_at=row["updated_at"].timestamp(),
    )


# ---- copy configs ----------------------------------------------------------------------------


async def insert_config(
    conn: Connection,
    portfolio_id: int,
    guild_id: int,
    user_id: int,
    wallet: str,
    budget_usd: float,
    per_trade_usd: float,
    now: datetime,
) -> CopyConfig:
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
    return _config(row)


async def count_active_configs(conn: Connection, guild_id: int, user_id: int) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM copy_configs WHERE guild_id = $1 AND user_id = $2 AND active",
        guild_id,
        user_id,
    )
    return count


async def deactivate_config(
    conn: Connection, guild_id: int, user_id: int, wallet: str, now: datetime
) -> CopyConfig | None:
    """Stop the user's active copy of ``wallet``; None when there is none."""
    row = await conn.fetchrow(
        "UPDATE copy_configs SET active = false, stopped_at = $4"
        " WHERE guild_id = $1 AND user_id = $2 AND wallet = $3 AND active"
        f" RETURNING {CONFIG_COLUMNS}",
        guild_id,
        user_id,
        wallet,
        now,
    )
    return None if row is None else _config(row)


async def configs_of(conn: Connection, guild_id: int, user_id: int) -> list[CopyConfig]:
    """The user's active copies, oldest first."""
    rows = await conn.fetch(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE guild_id = $1 AND user_id = $2"
        " AND active ORDER BY created_at, id",
        guild_id,
        user_id,
    )
    return [_config(row) for row in rows]


async def active_configs_for_wallet(conn: Connection, wallet: str) -> list[CopyConfig]:
    rows = await conn.fetch(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE wallet = $1 AND active ORDER BY id",
        wallet,
    )
    return [_config(row) for row in rows]


async def all_configs_for_wallet(conn: Connection, wallet: str) -> list[CopyConfig]:
    """Stopped copies too: a stopped copy still follows the trader's sells out of its shares."""
    rows = await conn.fetch(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE wallet = $1 ORDER BY id", wallet
    )
    return [_config(row) for row in rows]


_NET_SHARES = (
    "COALESCE(sum(CASE WHEN o.side = 'BUY' THEN o.filled_shares ELSE -o.filled_shares END), 0)"
)


async def config_net_shares(conn: Connection, config_id: int, asset: str) -> float:
    """Shares of a token this copy bought and has not sold: what its mirrored sells may sell."""
    value = await conn.fetchval(
        f"SELECT {_NET_SHARES} FROM paper_orders o WHERE o.config_id = $1 AND o.asset = $2",
        config_id,
        asset,
    )
    return float(value or 0.0)


async def copied_wallets(conn: Connection) -> set[str]:
    """Wallets whose trades matter: actively copied, or stopped with shares still held."""
    rows = await conn.fetch(
        "SELECT DISTINCT wallet FROM copy_configs WHERE active UNION"
        " SELECT c.wallet FROM copy_configs c JOIN paper_orders o ON o.config_id = c.id"
        " JOIN paper_positions p ON p.portfolio_id = o.portfolio_id AND p.asset = o.asset"
        " WHERE NOT c.active AND p.size > 0 AND NOT p.settled"
        f" GROUP BY c.id, c.wallet, o.asset HAVING {_NET_SHARES} > 0"
    )
    return {row["wallet"] for row in rows}


async def lock_config(conn: Connection, config_id: int) -> CopyConfig | None:
    """Serialises order creation per config, so two writers cannot both spend the last dollar."""
    row = await conn.fetchrow(
        f"SELECT {CONFIG_COLUMNS} FROM copy_configs WHERE id = $1 FOR UPDATE", config_id
    )
    return None if row is None else _config(row)


async def committed_usd(conn: Connection, config_id: int, open_statuses: Sequence[str]) -> float:
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
    conn: Connection, since: datetime, backdate_seconds: float
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


# ---- orders ----------------------------------------------------------------------------------


def idempotency_key(config_id: int, trade_key: str) -> str:
    """The order's UNIQUE key: one order per (copy, copied trade), whoever writes it. The same
    text is built in SQL by :func:`trades_without_orders`."""
    return f"{config_id}:{trade_key}"


async def insert_order(
    conn: Connection,
    *,
    config: CopyConfig,
    trade: Trade,
    limit_price: float,
    size_usd: float,
    size_shares: float,
    now: datetime,
) -> PaperOrder | None:
    """A new PLACED order copying ``trade`` for ``config``, or None when that pair already has
    one."""
    row = await conn.fetchrow(
        "INSERT INTO paper_orders (idempotency_key, config_id, portfolio_id, trade_key, wallet,"
        " asset, condition_id, title, outcome, side, trade_price, limit_price, size_usd,"
        " size_shares, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)"
        f" ON CONFLICT (idempotency_key) DO NOTHING RETURNING {ORDER_COLUMNS}",
        idempotency_key(config.id, trade.key),
        config.id,
        config.portfolio_id,
        trade.key,
        trade.wallet,
        trade.asset,
        trade.condition_id,
        trade.title,
        trade.outcome,
        trade.side,
        trade.price,
        limit_price,
        size_usd,
        size_shares,
        now,
    )
    return None if row is None else _order(row)


async def configs_with_order(
    conn: Connection, config_ids: Sequence[int], trade_key: str
) -> set[int]:
    """Which of these copies already have an order for the trade."""
    if not config_ids:
        return set()
    rows = await conn.fetch(
        "SELECT config_id FROM paper_orders WHERE idempotency_key = ANY($1::text[])",
        [idempotency_key(config_id, trade_key) for config_id in config_ids],
    )
    return {row["config_id"] for row in rows}


async def set_status(
    conn: Connection,
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
    conn: Connection,
    order: PaperOrder,
    *,
    status: str,
    shares: float,
    usd: float,
    taken: dict[str, float],
    now: datetime,
) -> bool:
    """Add a fill to ``order`` if it is still exactly as read (status and version); False means
    someone else did. ``taken`` is the order's whole per-level take after this fill."""
    result = await conn.execute(
        "UPDATE paper_orders SET status = $4, filled_shares = filled_shares + $5,"
        " filled_usd = filled_usd + $6, taken = $7::jsonb, version = version + 1,"
        " attempts = attempts + 1, missing_syncs = 0, updated_at = $8"
        " WHERE id = $1 AND status = $2 AND version = $3",
        order.id,
        order.status,
        order.version,
        status,
        shares,
        usd,
        taken,
        now,
    )
    return _count(result) == 1


async def record_buy_fill(
    conn: Connection,
    order: PaperOrder,
    *,
    status: str,
    shares: float,
    usd: float,
    taken: dict[str, float],
    now: datetime,
) -> bool:
    """A BUY fill's order and position in one statement: the order update guarded by the status
    and version of ``order`` as read, then (only
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
        order.id,
        order.status,
        order.version,
        status,
        shares,
        usd,
        taken,
        now,
        order.portfolio_id,
        order.asset,
        order.condition_id,
        order.title,
        order.outcome,
    )
    return applied == 1


async def cancel_where(
    conn: Connection,
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


async def open_orders(conn: Connection, statuses: Sequence[str]) -> list[PaperOrder]:
    rows = await conn.fetch(
        f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE status = ANY($1::text[]) ORDER BY id",
        list(statuses),
    )
    return [_order(row) for row in rows]


async def order_by_id(conn: Connection, order_id: int) -> PaperOrder | None:
    row = await conn.fetchrow(f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE id = $1", order_id)
    return None if row is None else _order(row)


async def touch_orders(
    conn: Connection,
    ids: Sequence[int],
    from_statuses: Sequence[str],
    status: str,
    now: datetime,
) -> int:
    """A batch of orders tried without a fill: set ``status`` (PENDING for PLACED ones, the
    same status for the others) and clear the missing-market count. Only orders still in
    ``from_statuses`` whose state this changes are written (an order that simply waits is
    left alone, so a sync pass does not rewrite every open order)."""
    if not ids:
        return 0
    result = await conn.execute(
        "UPDATE paper_orders SET status = $3, attempts = attempts + 1,"
        " missing_syncs = 0, version = version + 1, updated_at = $4"
        " WHERE id = ANY($1::int8[]) AND status = ANY($2::text[])"
        " AND (status <> $3 OR missing_syncs <> 0)",
        list(ids),
        list(from_statuses),
        status,
        now,
    )
    return _count(result)


async def count_missing(
    conn: Connection, ids: Sequence[int], from_statuses: Sequence[str], now: datetime
) -> list[MissedSync]:
    """One more sync that could not find these orders' markets; returns each order's state
    after the increment, for the caller to decide which are lost."""
    if not ids:
        return []
    rows = await conn.fetch(
        "UPDATE paper_orders SET missing_syncs = missing_syncs + 1, attempts = attempts + 1,"
        " version = version + 1, updated_at = $3"
        " WHERE id = ANY($1::int8[]) AND status = ANY($2::text[])"
        " RETURNING id, status, version, missing_syncs",
        list(ids),
        list(from_statuses),
        now,
    )
    return [
        MissedSync(row["id"], OrderStatus(row["status"]), row["version"], row["missing_syncs"])
        for row in rows
    ]


async def latest_orders(conn: Connection, portfolio_id: int, limit: int) -> list[PaperOrder]:
    rows = await conn.fetch(
        f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE portfolio_id = $1"
        " ORDER BY id DESC LIMIT $2",
        portfolio_id,
        limit,
    )
    return [_order(row) for row in rows]
