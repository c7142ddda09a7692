"""SQL for stored trades, alert deliveries and the alert outbox.

Every statement on the alert path is an index lookup (db/migrations/0006_alert_storage.sql), so
its cost does not grow with the history kept; retention deletes in bounded batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from bot.polymarket.records import Trade
from bot.trades.models import Delivery, FailedAlert, PendingMessage
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


async def existing_keys(conn: Connection, trade_keys: Sequence[str]) -> set[str]:
    """The keys among these that are stored already (the reconciler's "did we see it?")."""
    rows = await conn.fetch(
        "SELECT trade_key FROM trades WHERE trade_key = ANY($1::text[])", list(trade_keys)
    )
    return {row["trade_key"] for row in rows}


async def trade_counts(conn: Connection, wallets: Sequence[str], since: float) -> dict[str, int]:
    """Stored trades per wallet since ``since``: who trades often (checked first)."""
    rows = await conn.fetch(
        "SELECT wallet, count(*) AS n FROM trades WHERE wallet = ANY($1::text[])"
        " AND traded_at >= $2 GROUP BY wallet",
        list(wallets),
        datetime.fromtimestamp(since, tz=UTC),
    )
    return {row["wallet"]: row["n"] for row in rows}


async def channels_with_work(conn: Connection) -> list[int]:
    rows = await conn.fetch(
        "SELECT DISTINCT channel_id FROM alert_deliveries WHERE status = 'PENDING'"
        " UNION SELECT DISTINCT channel_id FROM alert_messages WHERE status = 'PENDING'"
    )
    return [row["channel_id"] for row in rows]


async def channel_work(conn: Connection, channel_id: int) -> tuple[PendingMessage | None, bool]:
    """In one round trip: the oldest message composed but not confirmed sent (a crash or an
    error interrupted it), and whether deliveries wait to be composed."""
    row = await conn.fetchrow(
        "SELECT m.id, m.nonce, m.created_at, EXISTS (SELECT 1 FROM alert_deliveries"
        " WHERE channel_id = $1 AND status = 'PENDING' AND message_id IS NULL) AS unassigned"
        " FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT id, nonce, created_at"
        " FROM alert_messages WHERE channel_id = $1 AND status = 'PENDING' ORDER BY id LIMIT 1)"
        " m ON true",
        channel_id,
    )
    assert row is not None  # one row always
    pending = None
    if row["id"] is not None:
        created = row["created_at"].timestamp()
        pending = PendingMessage(row["id"], row["nonce"], created)
    return pending, row["unassigned"]


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(trade_from_record(row), row["kind"], row["delayed"])


_DELIVERY_SELECT = (
    f"SELECT d.kind, d.delayed, {', '.join('t.' + c.strip() for c in TRADE_COLUMNS.split(','))}"
    " FROM alert_deliveries d JOIN trades t USING (trade_key)"
)


async def message_deliveries(conn: Connection, message_id: int) -> list[Delivery]:
    """The deliveries still to be sent in this message (set-aside ones excluded)."""
    rows = await conn.fetch(
        _DELIVERY_SELECT + " WHERE d.message_id = $1 AND d.status = 'PENDING'"
        " ORDER BY t.traded_at, t.trade_key",
        message_id,
    )
    return [_delivery(r) for r in rows]


async def unassigned_deliveries(conn: Connection, channel_id: int, limit: int) -> list[Delivery]:
    rows = await conn.fetch(
        _DELIVERY_SELECT + " WHERE d.channel_id = $1 AND d.status = 'PENDING'"
        " AND d.message_id IS NULL ORDER BY t.traded_at, t.trade_key LIMIT $2",
        channel_id,
        limit,
    )
    return [_delivery(r) for r in rows]


async def create_message(
    conn: Connection, channel_id: int, nonce: str, trade_keys: Sequence[str]
) -> tuple[int, set[str]]:
    """Compose an outbox message from unassigned deliveries, atomically (one statement), before
    anything is sent; returns its id and the keys it really took (a second process may have
    taken some)."""
    return await _insert_message(conn, channel_id, nonce, trade_keys, None)


async def _insert_message(
    conn: Connection,
    channel_id: int,
    nonce: str,
    trade_keys: Sequence[str],
    from_message: int | None,
) -> tuple[int, set[str]]:
    row = await conn.fetchrow(
        "WITH m AS (INSERT INTO alert_messages (channel_id, nonce) VALUES ($1, $2) RETURNING id),"
        " d AS (UPDATE alert_deliveries SET message_id = (SELECT id FROM m) WHERE channel_id = $1"
        " AND trade_key = ANY($3::text[]) AND status = 'PENDING'"
        " AND message_id IS NOT DISTINCT FROM $4 RETURNING trade_key)"
        " SELECT (SELECT id FROM m) AS id, array(SELECT trade_key FROM d) AS keys",
        channel_id,
        nonce,
        list(trade_keys),
        from_message,
    )
    assert row is not None  # one row always
    return row["id"], set(row["keys"])


async def split_message(
    conn: Connection,
    message_id: int,
    channel_id: int,
    parts: Sequence[tuple[str, Sequence[str]]],
    error: str,
) -> int:
    """Discord refused the message (and so posted nothing): its deliveries move to smaller
    messages, one per (nonce, trade keys) part, and the refused one is closed with the reason.
    Returns how many messages took deliveries."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE alert_messages SET status = 'FAILED', error = $2, attempts = attempts + 1"
            " WHERE id = $1 AND status = 'PENDING'",
            message_id,
            error[:500],
        )
        made = 0
        for nonce, keys in parts:
            _, taken = await _insert_message(conn, channel_id, nonce, keys, message_id)
            made += bool(taken)
        return made


async def release_message(conn: Connection, message_id: int, error: str) -> None:
    """Give a composed, never-sent message's deliveries back, to be composed again."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE alert_deliveries SET message_id = NULL WHERE message_id = $1"
            " AND status = 'PENDING'",
            message_id,
        )
        await conn.execute(
            "UPDATE alert_messages SET status = 'FAILED', error = $2 WHERE id = $1"
            " AND status = 'PENDING'",
            message_id,
            error,
        )


async def mark_sent(conn: Connection, message_id: int, discord_message_id: int) -> None:
    """The message and its pending deliveries SENT, and the follows' and whale watches' alert
    counters, in one statement (one round trip, atomic). Once per message: a second sender of
    the same message (a stale leader) finds it SENT already and changes nothing."""
    await conn.execute(
        "WITH m AS (UPDATE alert_messages SET status = 'SENT', sent_at = now(),"
        " discord_message_id = $2, attempts = attempts + 1 WHERE id = $1"
        " AND status = 'PENDING' RETURNING id),"
        " d AS (UPDATE alert_deliveries SET status = 'SENT', sent_at = now()"
        " WHERE message_id IN (SELECT id FROM m) AND status = 'PENDING'"
        " RETURNING kind, follow_id, channel_id),"
        " f AS (UPDATE follows fo SET alerts_sent = fo.alerts_sent + c.n FROM"
        " (SELECT follow_id, count(*) AS n FROM d WHERE kind = 'follow' GROUP BY follow_id) c"
        " WHERE fo.id = c.follow_id),"
        " w AS (UPDATE whale_watches ww SET alerts_sent = ww.alerts_sent + c.n FROM"
        " (SELECT channel_id, count(*) AS n FROM d WHERE kind = 'whale' GROUP BY channel_id) c"
        " WHERE ww.channel_id = c.channel_id)"
        " SELECT 1",
        message_id,
        discord_message_id,
    )


async def mark_attempt_failed(conn: Connection, message_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE alert_messages SET attempts = attempts + 1, error = $2 WHERE id = $1",
        message_id,
        error[:500],
    )


async def fail_deliveries(
    conn: Connection, channel_id: int, trade_keys: Sequence[str], error: str
) -> int:
    """Set these cards aside for good (they cannot be rendered, or Discord refuses them)."""
    result = await conn.execute(
        "UPDATE alert_deliveries SET status = 'FAILED', error = $3, failed_at = now()"
        " WHERE channel_id = $1 AND trade_key = ANY($2::text[]) AND status = 'PENDING'",
        channel_id,
        list(trade_keys),
        error[:500],
    )
    return int(result.split()[-1])


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
            "UPDATE alert_deliveries SET status = 'FAILED', error = $2, failed_at = now()"
            f" WHERE {delivery_column} = $1 AND status = 'PENDING'",
            value,
            error[:500],
        )
    return int(result.split()[-1])


async def delivery_counts(conn: Connection) -> dict[str, int]:
    """PENDING as it stands; SENT and FAILED over the last day (each a partial-index read, so
    /admin status costs the same whatever the history). Zero counts are left out."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM alert_deliveries WHERE status = 'PENDING') AS pending,"
        " (SELECT count(*) FROM alert_deliveries WHERE status = 'SENT'"
        "  AND sent_at > now() - interval '1 day') AS sent,"
        " (SELECT count(*) FROM alert_deliveries WHERE status = 'FAILED'"
        "  AND failed_at > now() - interval '1 day') AS failed"
    )
    assert row is not None
    counts = {"PENDING": row["pending"], "SENT": row["sent"], "FAILED": row["failed"]}
    return {status: n for status, n in counts.items() if n}


async def recent_failures(conn: Connection, limit: int) -> list[FailedAlert]:
    rows = await conn.fetch(
        "SELECT channel_id, trade_key, coalesce(error, '') AS error, failed_at"
        " FROM alert_deliveries WHERE status = 'FAILED' AND failed_at IS NOT NULL"
        " ORDER BY failed_at DESC LIMIT $1",
        limit,
    )
    return [
        FailedAlert(r["channel_id"], r["trade_key"], r["error"], r["failed_at"].timestamp())
        for r in rows
    ]


async def prune_trades_batch(conn: Connection, cutoff: float, batch: int) -> int:
    """Delete up to ``batch`` of the oldest trades older than ``cutoff``, their deliveries, and
    the finished outbox messages left without deliveries: a few short statements, one
    transaction, however large the history. Returns the trades deleted."""
    async with conn.transaction():
        keys = [
            row["trade_key"]
            for row in await conn.fetch(
                "SELECT trade_key FROM trades WHERE traded_at < $1 ORDER BY traded_at LIMIT $2",
                datetime.fromtimestamp(cutoff, tz=UTC),
                batch,
            )
        ]
        if not keys:
            return 0
        rows = await conn.fetch(
            "DELETE FROM alert_deliveries WHERE trade_key = ANY($1::text[]) RETURNING message_id",
            keys,
        )
        await conn.execute("DELETE FROM trades WHERE trade_key = ANY($1::text[])", keys)
        messages = list({r["message_id"] for r in rows if r["message_id"] is not None})
        if messages:
            await conn.execute(
                "DELETE FROM alert_messages m WHERE id = ANY($1::int8[]) AND status <> 'PENDING'"
                " AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.message_id = m.id)",
                messages,
            )
    return len(keys)


async def prune_messages_batch(conn: Connection, cutoff: float, batch: int) -> int:
    """Delete up to ``batch`` finished outbox messages older than ``cutoff`` that no delivery
    points to any more (a PENDING message is the dispatcher's to finish)."""
    result = await conn.execute(
        "DELETE FROM alert_messages WHERE id IN (SELECT m.id FROM alert_messages m"
        " WHERE m.status <> 'PENDING' AND m.created_at < $1 AND NOT EXISTS"
        " (SELECT 1 FROM alert_deliveries d WHERE d.message_id = m.id) LIMIT $2)",
        datetime.fromtimestamp(cutoff, tz=UTC),
        batch,
    )
    return int(result.split()[-1])


async def vacuum_alert_tables(conn: Connection) -> None:
    """Make the space of deleted rows reusable at once, so the files stay the same size from
    one retention pass to the next instead of waiting for autovacuum."""
    for table in ("trades", "alert_deliveries", "alert_messages"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
