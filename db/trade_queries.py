"""SQL for stored trades, alert deliveries and the alert outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from bot.polymarket.records import Trade
from bot.trades.models import Delivery, PendingMessage
from db.pool import Connection

TRADE_COLUMNS = (
    "trade_key, wallet, asset, condition_id, side, size, price, traded_at, transaction_hash,"
    " outcome, title, slug, event_slug, name, pseudonym"
)


def trade_from_record(row: asyncpg.Record) -> Trade:
    return Trade(
        key=row["trade_key"],
        wallet=row["wallet"],
        asset=row["asset"],
        condition_id=row["condition_id"],
        side=row["side"],
        size=row["size"],
        price=row["price"],
        timestamp=row["traded_at"].timestamp(),
        transaction_hash=row["transaction_hash"],
        outcome=row["outcome"],
        title=row["title"],
        slug=row["slug"],
        event_slug=row["event_slug"],
        name=row["name"],
        pseudonym=row["pseudonym"],
    )


async def trade_by_key(conn: Connection, trade_key: str) -> Trade | None:
    row = await conn.fetchrow(f"SELECT {TRADE_COLUMNS} FROM trades WHERE trade_key = $1", trade_key)
    return None if row is None else trade_from_record(row)


async def insert_trades(conn: Connection, trades: Sequence[Trade], source: str) -> set[str]:
    """Insert what is new; returns the keys actually inserted (duplicates collapse)."""
    rows = await conn.fetch(
        "INSERT INTO trades (trade_key, wallet, asset, condition_id, side, size, price, traded_at,"
        " transaction_hash, outcome, title, slug, event_slug, name, pseudonym, source)"
        " SELECT *, $16::text FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
        " $5::text[], $6::float8[], $7::float8[], $8::timestamptz[], $9::text[], $10::text[],"
        " $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])"
        " ON CONFLICT (trade_key) DO NOTHING RETURNING trade_key",
        [t.key for t in trades],
        [t.wallet for t in trades],
        [t.asset for t in trades],
        [t.condition_id for t in trades],
        [t.side for t in trades],
        [t.size for t in trades],
        [t.price for t in trades],
        [datetime.fromtimestamp(t.timestamp, tz=UTC) for t in trades],
        [t.transaction_hash for t in trades],
        [t.outcome for t in trades],
        [t.title for t in trades],
        [t.slug for t in trades],
        [t.event_slug for t in trades],
        [t.name for t in trades],
        [t.pseudonym for t in trades],
        source,
    )
    return {row["trade_key"] for row in rows}


async def insert_deliveries(
    conn: Connection,
    rows: Sequence[tuple[str, int, int, str, int | None, bool]],
) -> int:
    """(trade_key, channel_id, guild_id, kind, follow_id, delayed); existing pairs are kept."""
    if not rows:
        return 0
    result = await conn.fetch(
        "INSERT INTO alert_deliveries (trade_key, channel_id, guild_id, kind, follow_id, delayed)"
        " SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[],"
        " $6::bool[]) ON CONFLICT DO NOTHING RETURNING channel_id",
        *[list(column) for column in zip(*rows, strict=True)],
    )
    return len(result)


async def last_trade_times(conn: Connection, wallets: Sequence[str]) -> dict[str, float]:
    rows = await conn.fetch(
        "SELECT wallet, max(traded_at) AS last FROM trades WHERE wallet = ANY($1::text[])"
        " GROUP BY wallet",
        list(wallets),
    )
    return {row["wallet"]: row["last"].timestamp() for row in rows}


async def channels_with_work(conn: Connection) -> list[int]:
    rows = await conn.fetch(
        "SELECT DISTINCT channel_id FROM alert_deliveries WHERE status = 'PENDING'"
        " UNION SELECT DISTINCT channel_id FROM alert_messages WHERE status = 'PENDING'"
    )
    return [row["channel_id"] for row in rows]


async def pending_message(conn: Connection, channel_id: int) -> PendingMessage | None:
    """The oldest message composed but not confirmed sent (a crash or an error interrupted it)."""
    row = await conn.fetchrow(
        "SELECT id, nonce, attempts FROM alert_messages WHERE channel_id = $1"
        " AND status = 'PENDING' ORDER BY id LIMIT 1",
        channel_id,
    )
    return None if row is None else PendingMessage(row["id"], row["nonce"], row["attempts"])


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(trade_from_record(row), row["kind"], row["delayed"])


async def message_deliveries(conn: Connection, message_id: int) -> list[Delivery]:
    rows = await conn.fetch(
        f"SELECT d.kind, d.delayed, {', '.join('t.' + c.strip() for c in TRADE_COLUMNS.split(','))}"
        " FROM alert_deliveries d JOIN trades t USING (trade_key)"
        " WHERE d.message_id = $1 ORDER BY t.traded_at, t.trade_key",
        message_id,
    )
    return [_delivery(r) for r in rows]


async def unassigned_deliveries(conn: Connection, channel_id: int, limit: int) -> list[Delivery]:
    rows = await conn.fetch(
        f"SELECT d.kind, d.delayed, {', '.join('t.' + c.strip() for c in TRADE_COLUMNS.split(','))}"
        " FROM alert_deliveries d JOIN trades t USING (trade_key)"
        " WHERE d.channel_id = $1 AND d.status = 'PENDING' AND d.message_id IS NULL"
        " ORDER BY t.traded_at, t.trade_key LIMIT $2",
        channel_id,
        limit,
    )
    return [_delivery(r) for r in rows]


async def create_message(
    conn: Connection, channel_id: int, nonce: str, trade_keys: Sequence[str]
) -> int:
    """Compose an outbox message from deliveries, atomically, before anything is sent."""
    async with conn.transaction():
        message_id: int = await conn.fetchval(
            "INSERT INTO alert_messages (channel_id, nonce) VALUES ($1, $2) RETURNING id",
            channel_id,
            nonce,
        )
        await conn.execute(
            "UPDATE alert_deliveries SET message_id = $1 WHERE channel_id = $2"
            " AND trade_key = ANY($3::text[]) AND message_id IS NULL AND status = 'PENDING'",
            message_id,
            channel_id,
            list(trade_keys),
        )
    return message_id


async def mark_sent(conn: Connection, message_id: int, discord_message_id: int) -> None:
    """Once per message: a second sender of the same message (a stale leader) changes nothing."""
    async with conn.transaction():
        marked = await conn.fetchval(
            "UPDATE alert_messages SET status = 'SENT', sent_at = now(), discord_message_id = $2,"
            " attempts = attempts + 1 WHERE id = $1 AND status = 'PENDING' RETURNING id",
            message_id,
            discord_message_id,
        )
        if marked is None:
            return
        rows = await conn.fetch(
            "UPDATE alert_deliveries SET status = 'SENT', sent_at = now() WHERE message_id = $1"
            " RETURNING kind, follow_id, channel_id",
            message_id,
        )
        follow_ids = [r["follow_id"] for r in rows if r["kind"] == "follow"]
        if follow_ids:
            await conn.execute(
                "UPDATE follows f SET alerts_sent = alerts_sent + c.n FROM"
                " (SELECT unnest AS id, count(*) AS n FROM unnest($1::int8[]) GROUP BY 1) c"
                " WHERE f.id = c.id",
                follow_ids,
            )
        whale_channels = [r["channel_id"] for r in rows if r["kind"] == "whale"]
        if whale_channels:
            await conn.execute(
                "UPDATE whale_watches SET alerts_sent = alerts_sent + $2 WHERE channel_id = $1",
                whale_channels[0],
                len(whale_channels),
            )


async def mark_attempt_failed(conn: Connection, message_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE alert_messages SET attempts = attempts + 1, error = $2 WHERE id = $1",
        message_id,
        error[:500],
    )


async def fail_message(conn: Connection, message_id: int, error: str) -> int:
    """One message Discord will never accept: it and its deliveries end FAILED."""
    return await _fail_pending(conn, "id", "message_id", message_id, error)


async def fail_channel(conn: Connection, channel_id: int, error: str) -> int:
    """The channel is gone or forbidden: its pending alerts can never be delivered."""
    return await _fail_pending(conn, "channel_id", "channel_id", channel_id, error)


async def _fail_pending(
    conn: Connection, message_column: str, delivery_column: str, value: int, error: str
) -> int:
    """Mark pending outbox messages and deliveries FAILED; returns the deliveries failed."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE alert_messages SET status = 'FAILED', error = $2, attempts = attempts + 1"
            f" WHERE {message_column} = $1 AND status = 'PENDING'",
            value,
            error[:500],
        )
        result = await conn.execute(
            "UPDATE alert_deliveries SET status = 'FAILED'"
            f" WHERE {delivery_column} = $1 AND status = 'PENDING'",
            value,
        )
    return int(result.split()[-1])


async def delivery_counts(conn: Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*) AS n FROM alert_deliveries GROUP BY status")
    return {row["status"]: row["n"] for row in rows}


async def prune_trades(conn: Connection, retention_days: float) -> int:
    """Old trades go, and their delivery records with them (ON DELETE CASCADE)."""
    async with conn.transaction():
        result = await conn.execute(
            "DELETE FROM trades WHERE traded_at < now() - make_interval(secs => $1)",
            retention_days * 86400.0,
        )
        await conn.execute(
            "DELETE FROM alert_messages m WHERE status <> 'PENDING' AND NOT EXISTS"
            " (SELECT 1 FROM alert_deliveries d WHERE d.message_id = m.id)"
        )
    return int(result.split()[-1])
