"""SQL for follows and whale watches; rows come back as the trades feature's domain objects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from bot.trades.models import Follow, WhaleWatch
from db.pool import Connection

FOLLOW_COLUMNS = (
    "id, guild_id, channel_id, wallet, label, min_usd, side, created_at, enabled,"
    " disabled_reason, alerts_sent, category"
)
WHALE_COLUMNS = (
    "channel_id, guild_id, min_usd, include_near_certain, enabled, disabled_reason, alerts_sent,"
    " category, created_at"
)


def _follow(row: asyncpg.Record) -> Follow:
    return Follow(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        wallet=row["wallet"],
        label=row["label"],
        min_usd=row["min_usd"],
        side=row["side"],
        created_at=row["created_at"].timestamp(),
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        alerts_sent=row["alerts_sent"],
        category=row["category"],
    )


def _whale(row: asyncpg.Record) -> WhaleWatch:
    return WhaleWatch(
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        min_usd=row["min_usd"],
        include_near_certain=row["include_near_certain"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        alerts_sent=row["alerts_sent"],
        category=row["category"],
        created_at=row["created_at"].timestamp(),
    )


async def all_follows(conn: Connection) -> list[Follow]:
    return [_follow(r) for r in await conn.fetch(f"SELECT {FOLLOW_COLUMNS} FROM follows")]


async def follows_in_batches(conn: Connection, batch: int) -> AsyncIterator[list[Follow]]:
    """Every follow, ``batch`` rows at a time (a cursor), so a caller can index 100,000 of them
    without holding the event loop for the whole read."""
    async with conn.transaction():
        cursor = await conn.cursor(f"SELECT {FOLLOW_COLUMNS} FROM follows")
        while rows := await cursor.fetch(batch):
            yield [_follow(r) for r in rows]


async def all_whales(conn: Connection) -> list[WhaleWatch]:
    return [_whale(r) for r in await conn.fetch(f"SELECT {WHALE_COLUMNS} FROM whale_watches")]


async def upsert_follow(
    conn: Connection,
    *,
    guild_id: int,
    channel_id: int,
    wallet: str,
    label: str,
    min_usd: float,
    side: str,
    created_by: int,
    category: str | None = None,
) -> Follow:
    """A follow again for the same channel and wallet updates its filters and re-enables it."""
    row = await conn.fetchrow(
        "INSERT INTO follows (guild_id, channel_id, wallet, label, min_usd, side, created_by,"
        " category) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (channel_id, wallet) DO UPDATE SET label = EXCLUDED.label,"
        " min_usd = EXCLUDED.min_usd, side = EXCLUDED.side, category = EXCLUDED.category,"
        f" enabled = true, disabled_reason = NULL RETURNING {FOLLOW_COLUMNS}",
        guild_id,
        channel_id,
        wallet,
        label,
        min_usd,
        side,
        created_by,
        category,
    )
    assert row is not None  # INSERT … RETURNING always returns the row
    return _follow(row)


async def delete_follow(conn: Connection, channel_id: int, wallet: str) -> bool:
    result = await conn.execute(
        "DELETE FROM follows WHERE channel_id = $1 AND wallet = $2", channel_id, wallet
    )
    return result != "DELETE 0"


async def upsert_whales(
    conn: Connection,
    *,
    guild_id: int,
    channel_id: int,
    min_usd: float,
    include_near_certain: bool,
    created_by: int,
    category: str | None = None,
) -> WhaleWatch:
    row = await conn.fetchrow(
        "INSERT INTO whale_watches (channel_id, guild_id, min_usd, include_near_certain,"
        " created_by, category) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel_id) DO"
        " UPDATE SET min_usd = EXCLUDED.min_usd,"
        " include_near_certain = EXCLUDED.include_near_certain, category = EXCLUDED.category,"
        f" enabled = true, disabled_reason = NULL RETURNING {WHALE_COLUMNS}",
        channel_id,
        guild_id,
        min_usd,
        include_near_certain,
        created_by,
        category,
    )
    assert row is not None  # INSERT … RETURNING always returns the row
    return _whale(row)


async def delete_whales(conn: Connection, channel_id: int) -> bool:
    result = await conn.execute("DELETE FROM whale_watches WHERE channel_id = $1", channel_id)
    return result != "DELETE 0"


async def disable_channel(conn: Connection, channel_id: int, reason: str) -> int:
    async with conn.transaction():
        follows = await conn.execute(
            "UPDATE follows SET enabled = false, disabled_reason = $2"
            " WHERE channel_id = $1 AND enabled",
            channel_id,
            reason,
        )
        whales = await conn.execute(
            "UPDATE whale_watches SET enabled = false, disabled_reason = $2"
            " WHERE channel_id = $1 AND enabled",
            channel_id,
            reason,
        )
    return int(follows.split()[-1]) + int(whales.split()[-1])


async def guild_follows(conn: Connection, guild_id: int) -> list[Follow]:
    rows = await conn.fetch(
        f"SELECT {FOLLOW_COLUMNS} FROM follows WHERE guild_id = $1 ORDER BY channel_id, wallet",
        guild_id,
    )
    return [_follow(r) for r in rows]


async def guild_whales(conn: Connection, guild_id: int) -> list[WhaleWatch]:
    rows = await conn.fetch(
        f"SELECT {WHALE_COLUMNS} FROM whale_watches WHERE guild_id = $1 ORDER BY channel_id",
        guild_id,
    )
    return [_whale(r) for r in rows]
