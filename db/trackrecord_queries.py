"""SQL of the alert track record: reads the alert outbox, owns alert_outcomes(_guilds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from bot.trackrecord.models import AlertedTrade, AlertOutcome, Marked
from db.pool import Connection

_OUTCOME_COLUMNS = (
    "o.trade_key, o.wallet, o.asset, o.condition_id, o.side, o.alert_price, o.alerted_at,"
    " o.title, o.outcome, o.price_1h, o.price_24h, o.last_price, o.last_marked_at, o.payout"
)


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _seconds(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


async def new_alerted_trades(conn: Connection, since: float, limit: int) -> list[AlertedTrade]:
    """Trades received since ``since`` whose alert was sent to a server (per kind) and is not
    recorded yet: the delivery rows of the outbox, read, never written."""
    rows = await conn.fetch(
        "SELECT d.trade_key, d.guild_id, d.kind, min(d.sent_at) AS alerted_at, t.wallet,"
        " t.asset, t.condition_id, t.side, t.price, t.title, t.outcome"
        " FROM trades t JOIN alert_deliveries d ON d.trade_key = t.trade_key"
        " WHERE t.received_at >= $1 AND d.status = 'SENT' AND d.sent_at IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM alert_outcome_guilds g WHERE g.guild_id = d.guild_id"
        " AND g.kind = d.kind AND g.trade_key = d.trade_key)"
        " GROUP BY d.trade_key, d.guild_id, d.kind, t.wallet, t.asset, t.condition_id, t.side,"
        " t.price, t.title, t.outcome ORDER BY min(d.sent_at) LIMIT $2",
        _ts(since),
        limit,
    )
    return [
        AlertedTrade(
            trade_key=row["trade_key"],
            guild_id=row["guild_id"],
            kind=row["kind"],
            alerted_at=row["alerted_at"].timestamp(),
            wallet=row["wallet"],
            asset=row["asset"],
            condition_id=row["condition_id"],
            side=row["side"],
            price=row["price"],
            title=row["title"],
            outcome=row["outcome"],
        )
        for row in rows
    ]


async def record_alerts(conn: Connection, alerted: Sequence[AlertedTrade]) -> None:
    """One outcome row per trade (the first alert's time) and one row per server and kind;
    recording the same alert twice changes nothing."""
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO alert_outcomes (trade_key, wallet, asset, condition_id, side,"
            " alert_price, alerted_at, title, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (trade_key) DO UPDATE SET alerted_at = LEAST(alert_outcomes.alerted_at,"
            " EXCLUDED.alerted_at) WHERE alert_outcomes.price_1h IS NULL",
            [
                (
                    a.trade_key,
                    a.wallet,
                    a.asset,
                    a.condition_id,
                    a.side,
                    a.price,
                    _ts(a.alerted_at),
                    a.title[:300],
                    a.outcome[:100],
                )
                for a in alerted
            ],
        )
        await conn.executemany(
            "INSERT INTO alert_outcome_guilds (guild_id, kind, trade_key, alerted_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [(a.guild_id, a.kind, a.trade_key, _ts(a.alerted_at)) for a in alerted],
        )


def _outcome(row: asyncpg.Record) -> AlertOutcome:
    return AlertOutcome(
        trade_key=row["trade_key"],
        wallet=row["wallet"],
        asset=row["asset"],
        condition_id=row["condition_id"],
        side=row["side"],
        alert_price=row["alert_price"],
        alerted_at=row["alerted_at"].timestamp(),
        title=row["title"],
        outcome=row["outcome"],
        price_1h=row["price_1h"],
        price_24h=row["price_24h"],
        last_price=row["last_price"],
        last_marked_at=_seconds(row["last_marked_at"]),
        payout=row["payout"],
    )


async def open_to_mark(
    conn: Connection, now: float, late: float, markets: int
) -> list[AlertOutcome]:
    """The open alerts of the ``markets`` markets most in need of a mark: those with a +1 h or
    +24 h mark due (and not missed) first, then the ones marked longest ago."""
    rows = await conn.fetch(
        "WITH wanted AS (SELECT condition_id FROM alert_outcomes WHERE payout IS NULL"
        " GROUP BY condition_id ORDER BY bool_or("
        " (price_1h IS NULL AND alerted_at BETWEEN"
        " $1::timestamptz - make_interval(secs => 3600 + $2::float8)"
        " AND $1::timestamptz - interval '1 hour') OR (price_24h IS NULL AND alerted_at BETWEEN"
        " $1::timestamptz - make_interval(secs => 86400 + $2::float8)"
        " AND $1::timestamptz - interval '24 hours')) DESC,"
        " min(last_marked_at) NULLS FIRST LIMIT $3)"
        f" SELECT {_OUTCOME_COLUMNS} FROM alert_outcomes o JOIN wanted w USING (condition_id)"
        " WHERE o.payout IS NULL",
        _ts(now),
        late,
        markets,
    )
    return [_outcome(row) for row in rows]


async def apply_marks(conn: Connection, marks: Sequence[Marked], now: float) -> None:
    """Store a pass's marks; a mark or payout already stored is never replaced."""
    await conn.executemany(
        "UPDATE alert_outcomes SET last_price = $2, last_marked_at = $6::timestamptz,"
        " price_1h = coalesce(price_1h, $3), price_24h = coalesce(price_24h, $4),"
        " payout = $5, settled_at = CASE WHEN $5::float8 IS NULL THEN NULL"
        " ELSE $6::timestamptz END"
        " WHERE trade_key = $1 AND payout IS NULL",
        [(m.trade_key, m.last_price, m.price_1h, m.price_24h, m.payout, _ts(now)) for m in marks],
    )


async def guild_outcomes(
    conn: Connection, guild_id: int, kind: str | None, since: float | None, limit: int
) -> list[AlertOutcome]:
    """A server's alerted trades (each once, whatever kinds and channels), newest first."""
    rows = await conn.fetch(
        f"SELECT {_OUTCOME_COLUMNS} FROM alert_outcomes o WHERE o.trade_key IN ("
        " SELECT g.trade_key FROM alert_outcome_guilds g WHERE g.guild_id = $1"
        " AND ($2::text IS NULL OR g.kind = $2)"
        " AND ($3::timestamptz IS NULL OR g.alerted_at >= $3))"
        " ORDER BY o.alerted_at DESC LIMIT $4",
        guild_id,
        kind,
        None if since is None else _ts(since),
        limit,
    )
    return [_outcome(row) for row in rows]


async def wallet_outcomes(conn: Connection, wallet: str, limit: int) -> list[AlertOutcome]:
    """Every alerted trade of one trader (in any server), newest first."""
    rows = await conn.fetch(
        f"SELECT {_OUTCOME_COLUMNS} FROM alert_outcomes o WHERE o.wallet = $1"
        " ORDER BY o.alerted_at DESC LIMIT $2",
        wallet,
        limit,
    )
    return [_outcome(row) for row in rows]


async def prune(conn: Connection, before: float) -> int:
    status = await conn.execute("DELETE FROM alert_outcomes WHERE alerted_at < $1", _ts(before))
    return int(status.split()[-1])
