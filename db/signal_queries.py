"""SQL for signals: signal watches, trader labels, wallet ages, market facts, consensus alerts,
and the position history an alert card reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.signals.models import (
    ConsensusParticipant,
    HistoryTrade,
    MarketFacts,
    PositionHistory,
    SignalWatch,
    WalletAge,
)
from db.pool import Connection

WATCH_COLUMNS = (
    "guild_id, kind, channel_id, min_usd, category, enabled, disabled_reason, created_at"
)


def _stamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _watch(row: asyncpg.Record) -> SignalWatch:
    return SignalWatch(
        guild_id=row["guild_id"],
        kind=row["kind"],
        channel_id=row["channel_id"],
        min_usd=row["min_usd"],
        category=row["category"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"].timestamp(),
    )


# ---- signal watches ------------------------------------------------------------------------------


async def all_signal_watches(conn: Connection) -> list[SignalWatch]:
    rows = await conn.fetch(f"SELECT {WATCH_COLUMNS} FROM signal_watches")
    return [_watch(r) for r in rows]


async def guild_signal_watches(conn: Connection, guild_id: int) -> list[SignalWatch]:
    rows = await conn.fetch(
        f"SELECT {WATCH_COLUMNS} FROM signal_watches WHERE guild_id = $1 ORDER BY kind", guild_id
    )
    return [_watch(r) for r in rows]


async def upsert_signal_watch(
    conn: Connection,
    *,
    guild_id: int,
    kind: str,
    channel_id: int,
    min_usd: float,
    category: str | None,
    created_by: int,
) -> SignalWatch:
    """A server has one channel per kind: setting it again moves and re-enables it, and it
    alerts from now on (``created_at``): trades recovered from before are history."""
    row = await conn.fetchrow(
        "INSERT INTO signal_watches (guild_id, kind, channel_id, min_usd, category, created_by)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (guild_id, kind) DO UPDATE SET"
        " channel_id = EXCLUDED.channel_id, min_usd = EXCLUDED.min_usd,"
        " category = EXCLUDED.category, enabled = true, disabled_reason = NULL,"
        f" created_at = now() RETURNING {WATCH_COLUMNS}",
        guild_id,
        kind,
        channel_id,
        min_usd,
        category,
        created_by,
    )
    assert row is not None  # INSERT … RETURNING always returns the row
    return _watch(row)


async def delete_signal_watch(conn: Connection, guild_id: int, kind: str) -> bool:
    result = await conn.execute(
        "DELETE FROM signal_watches WHERE guild_id = $1 AND kind = $2", guild_id, kind
    )
    return result != "DELETE 0"


async def disable_signal_channel(conn: Connection, channel_id: int, reason: str) -> int:
    result = await conn.execute(
        "UPDATE signal_watches SET enabled = false, disabled_reason = $2"
        " WHERE channel_id = $1 AND enabled",
        channel_id,
        reason,
    )
    return int(result.split()[-1])


async def signal_alert_counts(conn: Connection, guild_id: int) -> dict[tuple[int, str], int]:
    """(channel, kind) -> signal alerts sent there (as long as the trades are kept)."""
    rows = await conn.fetch(
        "SELECT channel_id, kind, count(*) AS n FROM alert_deliveries WHERE guild_id = $1"
        " AND status = 'SENT' AND kind IN ('fresh', 'smart', 'consensus')"
        " GROUP BY channel_id, kind",
        guild_id,
    )
    return {(r["channel_id"], r["kind"]): r["n"] for r in rows}


# ---- labels --------------------------------------------------------------------------------------


async def all_labels(conn: Connection) -> list[tuple[int, str, str]]:
    rows = await conn.fetch("SELECT guild_id, wallet, name FROM trader_labels")
    return [(r["guild_id"], r["wallet"], r["name"]) for r in rows]


async def guild_labels(conn: Connection, guild_id: int) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT wallet, name FROM trader_labels WHERE guild_id = $1 ORDER BY lower(name)", guild_id
    )
    return {r["wallet"]: r["name"] for r in rows}


async def set_label(
    conn: Connection, guild_id: int, wallet: str, name: str, created_by: int
) -> None:
    await conn.execute(
        "INSERT INTO trader_labels (guild_id, wallet, name, created_by) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (guild_id, wallet) DO UPDATE SET name = EXCLUDED.name,"
        " created_by = EXCLUDED.created_by, updated_at = now()",
        guild_id,
        wallet,
        name,
        created_by,
    )


async def delete_label(conn: Connection, guild_id: int, wallet: str) -> bool:
    result = await conn.execute(
        "DELETE FROM trader_labels WHERE guild_id = $1 AND wallet = $2", guild_id, wallet
    )
    return result != "DELETE 0"


# ---- wallet ages and market facts ----------------------------------------------------------------


async def wallet_ages(conn: Connection, wallets: Sequence[str]) -> dict[str, WalletAge]:
    rows = await conn.fetch(
        "SELECT wallet, created_at, source FROM wallet_ages WHERE wallet = ANY($1::text[])",
        list(wallets),
    )
    return {r["wallet"]: WalletAge(r["created_at"].timestamp(), r["source"]) for r in rows}


async def record_wallet_age(conn: Connection, wallet: str, age: WalletAge) -> None:
    await conn.execute(
        "INSERT INTO wallet_ages (wallet, created_at, source) VALUES ($1, $2, $3)"
        " ON CONFLICT (wallet) DO UPDATE SET created_at = EXCLUDED.created_at,"
        " source = EXCLUDED.source, checked_at = now()",
        wallet,
        _stamp(age.created_at),
        age.source,
    )


async def market_facts(conn: Connection, condition_ids: Sequence[str]) -> dict[str, MarketFacts]:
    rows = await conn.fetch(
        "SELECT condition_id, categories, icon, tick_size FROM market_facts"
        " WHERE condition_id = ANY($1::text[])",
        list(condition_ids),
    )
    return {
        r["condition_id"]: MarketFacts(
            r["condition_id"], frozenset(r["categories"]), r["icon"], r["tick_size"]
        )
        for r in rows
    }


async def record_market_facts(conn: Connection, facts: MarketFacts) -> None:
    await conn.execute(
        "INSERT INTO market_facts (condition_id, categories, icon, tick_size)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (condition_id) DO UPDATE SET"
        " categories = EXCLUDED.categories, icon = EXCLUDED.icon,"
        " tick_size = EXCLUDED.tick_size, learnt_at = now()",
        facts.condition_id,
        sorted(facts.categories),
        facts.icon,
        facts.tick_size,
    )


# ---- consensus -----------------------------------------------------------------------------------


async def lock_outcome(conn: Connection, asset: str) -> None:
    """Serialise consensus decisions on one outcome until the transaction ends (a second
    process, or a stale leader, waits and then sees the alert the first one recorded)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7310011))", asset)


async def consensus_buys(
    conn: Connection, asset: str, wallets: Sequence[str], since: float, until: float
) -> list[tuple[str, float, float]]:
    """(wallet, dollars, shares) bought of ``asset`` by each of ``wallets`` in [since, until]."""
    rows = await conn.fetch(
        "SELECT wallet, sum(size * price) AS usd, sum(size) AS shares FROM trades"
        " WHERE wallet = ANY($2::text[]) AND asset = $1 AND side = 'BUY'"
        " AND traded_at >= $3 AND traded_at <= $4 GROUP BY wallet",
        asset,
        list(wallets),
        _stamp(since),
        _stamp(until),
    )
    return [(r["wallet"], r["usd"], r["shares"]) for r in rows]


async def recent_consensus_channels(conn: Connection, asset: str, since: float) -> set[int]:
    rows = await conn.fetch(
        "SELECT DISTINCT channel_id FROM consensus_alerts WHERE asset = $1 AND fired_at > $2",
        asset,
        _stamp(since),
    )
    return {r["channel_id"] for r in rows}


async def record_consensus(
    conn: Connection,
    rows: Sequence[tuple[int, int, str, str, float, list[dict[str, Any]]]],
) -> None:
    """(channel_id, guild_id, asset, trade_key, fired_at, participants)."""
    await conn.executemany(
        "INSERT INTO consensus_alerts (channel_id, guild_id, asset, trade_key, fired_at,"
        " participants) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        [(c, g, a, k, _stamp(at), p) for c, g, a, k, at, p in rows],
    )


async def consensus_participants(
    conn: Connection, trade_key: str, channel_id: int
) -> tuple[ConsensusParticipant, ...]:
    value = await conn.fetchval(
        "SELECT participants FROM consensus_alerts WHERE trade_key = $1 AND channel_id = $2",
        trade_key,
        channel_id,
    )
    return tuple(
        ConsensusParticipant(
            wallet=str(p["wallet"]),
            name=str(p.get("name", "")),
            rank=int(p.get("rank", 0)),
            usd=float(p["usd"]),
            shares=float(p["shares"]),
        )
        for p in value or ()
        if isinstance(p, dict)
    )


# ---- positions and channels ----------------------------------------------------------------------


async def record_position_sync(conn: Connection, wallet: str, synced_at: float) -> None:
    await conn.execute(
        "INSERT INTO position_syncs (wallet, synced_at) VALUES ($1, $2)"
        " ON CONFLICT (wallet) DO UPDATE SET synced_at = EXCLUDED.synced_at",
        wallet,
        _stamp(synced_at),
    )


async def position_history(conn: Connection, wallet: str, asset: str) -> PositionHistory:
    """The last whole read of the wallet's positions (its follow's sync, or a positions sync
    of a ranked trader, whichever is newer), its size in ``asset`` then, and the stored trades
    in ``asset``."""
    synced = await conn.fetchrow(
        "SELECT greatest((SELECT synced_at FROM position_syncs WHERE wallet = $1),"
        " (SELECT max(updated_at) FROM trader_positions WHERE wallet = $1)) AS at,"
        " (SELECT size FROM trader_positions WHERE wallet = $1 AND asset = $2) AS size,"
        " (SELECT avg_price FROM trader_positions WHERE wallet = $1 AND asset = $2) AS avg",
        wallet,
        asset,
    )
    rows = await conn.fetch(
        "SELECT side, size, price, traded_at, trade_key FROM trades"
        " WHERE wallet = $1 AND asset = $2 ORDER BY traded_at, received_at, trade_key",
        wallet,
        asset,
    )
    at = synced["at"] if synced is not None else None
    return PositionHistory(
        synced_at=at.timestamp() if at is not None else None,
        base_size=float(synced["size"] or 0.0) if synced is not None else 0.0,
        base_avg_price=float(synced["avg"] or 0.0) if synced is not None else 0.0,
        trades=tuple(
            HistoryTrade(
                r["side"], r["size"], r["price"], r["traded_at"].timestamp(), r["trade_key"]
            )
            for r in rows
        ),
    )


async def guild_of_channel(conn: Connection, channel_id: int) -> int | None:
    """The server a channel belongs to, as recorded when alerts were set up there."""
    value = await conn.fetchval(
        "SELECT guild_id FROM (SELECT guild_id FROM follows WHERE channel_id = $1"
        " UNION ALL SELECT guild_id FROM whale_watches WHERE channel_id = $1"
        " UNION ALL SELECT guild_id FROM signal_watches WHERE channel_id = $1"
        " UNION ALL (SELECT guild_id FROM alert_deliveries WHERE channel_id = $1"
        " AND status = 'PENDING' LIMIT 1)) g LIMIT 1",
        channel_id,
    )
    return None if value is None else int(value)
