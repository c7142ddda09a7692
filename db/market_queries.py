"""SQL for the markets table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import asyncpg

from bot.polymarket.records import Market
from db.pool import Connection

_COLUMNS = (
    "condition_id, gamma_id, slug, question, outcomes, token_ids, prices, volume, liquidity,"
    " end_date, closed, resolved, winner_index, event_slug, image, prices_at"
)


def market_from_record(row: asyncpg.Record) -> Market:
    return Market(
        condition_id=row["condition_id"],
        gamma_id=row["gamma_id"],
        slug=row["slug"],
        question=row["question"],
        outcomes=tuple(row["outcomes"]),
        token_ids=tuple(row["token_ids"]),
        prices=tuple(row["prices"]),
        volume=row["volume"],
        liquidity=row["liquidity"],
        end_date=row["end_date"],
        closed=row["closed"],
        resolved=row["resolved"],
        winner_index=row["winner_index"],
        event_slug=row["event_slug"],
        image=row["image"],
    )


async def upsert_markets(conn: Connection, markets: Sequence[Market], now: float) -> None:
    """Store what Gamma said; a market already known resolved is never changed back."""
    if not markets:
        return
    stamp = datetime.fromtimestamp(now, tz=UTC)
    await conn.executemany(
        f"INSERT INTO markets ({_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9, $10, $11, $12, $13, $14, $15, $16, $16) ON CONFLICT (condition_id) DO UPDATE SET"
        " gamma_id = EXCLUDED.gamma_id, slug = EXCLUDED.slug, question = EXCLUDED.question,"
        " outcomes = EXCLUDED.outcomes, token_ids = EXCLUDED.token_ids,"
        " prices = EXCLUDED.prices, volume = EXCLUDED.volume, liquidity = EXCLUDED.liquidity,"
        " end_date = EXCLUDED.end_date, closed = EXCLUDED.closed,"
        " resolved = EXCLUDED.resolved, winner_index = EXCLUDED.winner_index,"
        " event_slug = EXCLUDED.event_slug, image = EXCLUDED.image,"
        " prices_at = EXCLUDED.prices_at, updated_at = EXCLUDED.updated_at"
        " WHERE NOT markets.resolved",
        [
            (
                m.condition_id,
                m.gamma_id,
                m.slug,
                m.question,
                list(m.outcomes),
                list(m.token_ids),
                list(m.prices),
                m.volume,
                m.liquidity,
                m.end_date,
                m.closed,
                m.resolved,
                m.winner_index,
                m.event_slug,
                m.image,
                stamp,
            )
            for m in markets
        ],
    )


async def by_condition(conn: Connection, condition_id: str) -> Market | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM markets WHERE condition_id = $1", condition_id
    )
    return None if row is None else market_from_record(row)


async def by_slug(conn: Connection, slug: str) -> Market | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM markets WHERE slug = $1 ORDER BY updated_at DESC LIMIT 1", slug
    )
    return None if row is None else market_from_record(row)


async def by_event(conn: Connection, event_slug: str, limit: int) -> list[Market]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM markets WHERE event_slug = $1 ORDER BY volume DESC LIMIT $2",
        event_slug,
        limit,
    )
    return [market_from_record(row) for row in rows]


async def search_stored(conn: Connection, text: str, limit: int) -> list[Market]:
    """Stored markets whose question holds every word of ``text`` (when Gamma is away)."""
    words = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in text.split()]
    if not words:
        return []
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM markets WHERE question ILIKE ALL ("
        " SELECT '%' || w || '%' FROM unnest($1::text[]) AS w)"
        " ORDER BY resolved, volume DESC LIMIT $2",
        words,
        limit,
    )
    return [market_from_record(row) for row in rows]


async def record_demand(conn: Connection, demand: Mapping[str, float]) -> None:
    if demand:
        await conn.executemany(
            "UPDATE markets SET last_requested_at = $2 WHERE condition_id = $1",
            [(cid, datetime.fromtimestamp(ts, tz=UTC)) for cid, ts in demand.items()],
        )


async def unknown_condition_ids(conn: Connection, limit: int) -> list[str]:
    """Markets seen in trades or positions that the markets table does not describe yet."""
    rows = await conn.fetch(
        "SELECT DISTINCT condition_id FROM ("
        " SELECT condition_id FROM trades UNION SELECT condition_id FROM trader_positions) s"
        " WHERE condition_id <> ''"
        " AND NOT EXISTS (SELECT 1 FROM markets m WHERE m.condition_id = s.condition_id)"
        " AND NOT EXISTS (SELECT 1 FROM market_misses x WHERE x.condition_id = s.condition_id"
        " AND x.missed_at > now() - interval '1 day') LIMIT $1",
        limit,
    )
    return [row["condition_id"] for row in rows]


async def record_misses(conn: Connection, condition_ids: Sequence[str]) -> None:
    if condition_ids:
        await conn.execute(
            "INSERT INTO market_misses (condition_id, missed_at) SELECT unnest($1::text[]), now()"
            " ON CONFLICT (condition_id) DO UPDATE SET missed_at = EXCLUDED.missed_at",
            list(condition_ids),
        )


async def open_demanded(conn: Connection, since: float, limit: int) -> list[str]:
    """Open markets someone asked about recently: the ones worth keeping fresh."""
    rows = await conn.fetch(
        "SELECT condition_id FROM markets WHERE NOT resolved AND last_requested_at >= $1"
        " ORDER BY last_requested_at DESC LIMIT $2",
        datetime.fromtimestamp(since, tz=UTC),
        limit,
    )
    return [row["condition_id"] for row in rows]
