"""SQL for trader profiles: identity and aggregates, daily statistics, open positions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from bot.polymarket.records import Position
from bot.traders.models import DailyStat, StoredTrader
from db.pool import Connection

TRADER_COLUMNS = (
    "wallet, user_name, pseudonym, profile_image, stats, latest_trades, markets_traded, details_at"
)


async def record_trader(
    conn: Connection,
    *,
    wallet: str,
    user_name: str,
    pseudonym: str,
    profile_image: str,
    stats: dict[str, Any],
    latest_trades: list[dict[str, Any]],
    markets_traded: int,
    details_at: float,
    positions: Sequence[Position],
    daily: dict[date, tuple[float, float, int]],
    details_empty: bool,
) -> StoredTrader | None:
    """Everything one detail fetch taught us about a trader, in one transaction; returns the
    row as stored now, so the caller need not read it back.

    ``details_empty`` (three empty pages) never replaces a trader stored with trading: that
    is a bad answer, not a trader who stopped existing. Nothing is written then, and None
    returned; the check and the write are one statement, so no other writer slips between."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "INSERT INTO traders (wallet, user_name, pseudonym, profile_image, stats,"
            " latest_trades, markets_traded, details_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (wallet) DO UPDATE SET"
            " user_name = COALESCE(NULLIF(EXCLUDED.user_name, ''), traders.user_name),"
            " pseudonym = COALESCE(NULLIF(EXCLUDED.pseudonym, ''), traders.pseudonym),"
            " profile_image = COALESCE(NULLIF(EXCLUDED.profile_image, ''), traders.profile_image),"
            " stats = EXCLUDED.stats, latest_trades = EXCLUDED.latest_trades,"
            " markets_traded = EXCLUDED.markets_traded, details_at = EXCLUDED.details_at,"
            " last_seen = now()"
            " WHERE NOT $9 OR traders.markets_traded = 0"
            f" RETURNING {TRADER_COLUMNS}",
            wallet,
            user_name,
            pseudonym,
            profile_image,
            stats,
            latest_trades,
            markets_traded,
            datetime.fromtimestamp(details_at, tz=UTC),
            details_empty,
        )
        if row is None:
            return None
        await replace_positions(conn, wallet, positions)
        if daily:
            await conn.executemany(
                "INSERT INTO trader_daily_stats (wallet, day, realized_pnl, volume, trades)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (wallet, day) DO UPDATE SET"
                " realized_pnl = EXCLUDED.realized_pnl, volume = EXCLUDED.volume,"
                " trades = EXCLUDED.trades",
                [(wallet, day, pnl, vol, n) for day, (pnl, vol, n) in daily.items()],
            )
    return _stored_trader(row)


async def replace_positions(conn: Connection, wallet: str, positions: Sequence[Position]) -> None:
    async with conn.transaction():  # readers never see the wallet without positions
        await _replace_positions(conn, wallet, positions)


async def _replace_positions(conn: Connection, wallet: str, positions: Sequence[Position]) -> None:
    await conn.execute("DELETE FROM trader_positions WHERE wallet = $1", wallet)
    if positions:
        await conn.executemany(
            "INSERT INTO trader_positions (wallet, asset, condition_id, title, slug, outcome,"
            " size, avg_price, cur_price, current_value, cash_pnl)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " ON CONFLICT (wallet, asset) DO NOTHING",
            [
                (
                    wallet,
                    p.asset,
                    p.condition_id,
                    p.title,
                    p.slug,
                    p.outcome,
                    p.size,
                    p.avg_price,
                    p.cur_price,
                    p.current_value,
                    p.cash_pnl,
                )
                for p in positions
            ],
        )


async def load_trader(conn: Connection, wallet: str) -> StoredTrader | None:
    row = await conn.fetchrow(f"SELECT {TRADER_COLUMNS} FROM traders WHERE wallet = $1", wallet)
    return None if row is None else _stored_trader(row)


def _stored_trader(row: asyncpg.Record) -> StoredTrader:
    return StoredTrader(
        wallet=row["wallet"],
        user_name=row["user_name"],
        pseudonym=row["pseudonym"],
        profile_image=row["profile_image"],
        stats=row["stats"],
        latest_trades=list(row["latest_trades"]),
        markets_traded=row["markets_traded"],
        details_at=row["details_at"].timestamp() if row["details_at"] else None,
    )


async def load_positions(conn: Connection, wallet: str) -> list[Position]:
    """Open positions as last synced, largest first (realized PnL is not kept: 0)."""
    rows = await conn.fetch(
        "SELECT asset, condition_id, title, slug, outcome, size, avg_price, cur_price,"
        " current_value, cash_pnl FROM trader_positions WHERE wallet = $1"
        " ORDER BY current_value DESC",
        wallet,
    )
    return [
        Position(
            wallet=wallet,
            asset=r["asset"],
            condition_id=r["condition_id"],
            size=r["size"],
            avg_price=r["avg_price"],
            initial_value=r["size"] * r["avg_price"],
            current_value=r["current_value"],
            cash_pnl=r["cash_pnl"],
            realized_pnl=0.0,
            cur_price=r["cur_price"],
            title=r["title"],
            slug=r["slug"],
            outcome=r["outcome"],
        )
        for r in rows
    ]


async def load_daily(conn: Connection, wallet: str) -> list[DailyStat]:
    rows = await conn.fetch(
        "SELECT day, realized_pnl, volume, trades FROM trader_daily_stats WHERE wallet = $1"
        " ORDER BY day",
        wallet,
    )
    return [DailyStat(r["day"], r["realized_pnl"], r["volume"], r["trades"]) for r in rows]


async def search_names(conn: Connection, typed: str, limit: int) -> dict[str, str]:
    """wallet -> username of stored traders whose name contains, or wallet starts with, typed."""
    rows = await conn.fetch(
        "SELECT wallet, user_name FROM traders WHERE user_name <> '' AND"
        " (user_name ILIKE '%' || $1 || '%' ESCAPE '\\' OR wallet LIKE $1 || '%' ESCAPE '\\')"
        " ORDER BY last_seen DESC LIMIT $2",
        typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),
        limit,
    )
    return {row["wallet"]: row["user_name"] for row in rows}


async def wallet_for_name(conn: Connection, name: str) -> str | None:
    value = await conn.fetchval(
        "SELECT wallet FROM traders WHERE lower(user_name) = lower($1)"
        " ORDER BY last_seen DESC LIMIT 1",
        name,
    )
    return None if value is None else str(value)


async def position_size(conn: Connection, wallet: str, asset: str) -> float | None:
    value = await conn.fetchval(
        "SELECT size FROM trader_positions WHERE wallet = $1 AND asset = $2", wallet, asset
    )
    return None if value is None else float(value)


async def names_of(conn: Connection, wallets: Sequence[str]) -> dict[str, str]:
    """wallet -> the name the trader goes by: their stored profile's, else their latest
    stored trade's (a trader copied or followed trades before anyone looks them up)."""
    rows = await conn.fetch(
        "SELECT w.wallet, COALESCE(NULLIF(t.user_name, ''), NULLIF(t.pseudonym, ''),"
        " (SELECT COALESCE(NULLIF(x.name, ''), x.pseudonym) FROM trades x"
        "  WHERE x.wallet = w.wallet ORDER BY x.traded_at DESC LIMIT 1), '') AS name"
        " FROM unnest($1::text[]) AS w(wallet) LEFT JOIN traders t ON t.wallet = w.wallet",
        list(wallets),
    )
    return {row["wallet"]: row["name"] for row in rows if row["name"]}
