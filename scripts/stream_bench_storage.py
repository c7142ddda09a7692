"""bench_stream.py (c): alert storage with 1,000,000 rows of alert history.

A scratch database is filled with 30 days of history: 250,000 stored trades, each alerted in 4
channels (1,000,000 delivery rows) through 500,000 sent outbox messages. Then, on that history:

* per-message bookkeeping: the statements the dispatcher runs for one alert message (is there a
  pending message, is there work, read the channel's unassigned deliveries, compose the message,
  mark it sent), timed end to end through the bot's own pool and query functions, with the
  indexes of db/migrations/0006_alert_storage.sql; marking the message sent alone; and, side by
  side, marking it sent as the bot did before this change (its statement, without those
  indexes);
* retention: the old single-statement prune without those indexes, under the bot's 30 s
  statement timeout; then four daily passes of the new batched one (``TradeIngest.prune``), each
  after a day of new history was added, with the database's size after each: flat means
  retention keeps up with the history it is given.

Left out: concurrent load on the database while it runs, and autovacuum's own timing (each pass
ends with the VACUUM the retention loop runs).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from benchlib import ROOT, percentile, progress

from bot.events import EventBus
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from db import trade_queries as queries

TRADES = 250_000
CHANNELS_PER_TRADE = 4
DAYS = 30
BENCH_CHANNEL = 999_999
GOAL_BOOKKEEPING_MS = 2.0
STATEMENT_TIMEOUT_S = 30
MIGRATION = ROOT / "db" / "migrations" / "0006_alert_storage.sql"


def migration_indexes(path: Path = MIGRATION) -> dict[str, str]:
    """name -> CREATE INDEX statement, for every index the migration creates."""
    text = re.sub(r"--[^\n]*", "", path.read_text())
    statements = [s.strip() for s in text.split(";") if s.strip().startswith("CREATE INDEX")]
    return {s.split()[2]: s for s in statements}


async def insert_history(
    conn: asyncpg.Connection, start: float, span: float, trades: int, tag: str
) -> None:
    """``trades`` trades spread over ``span`` seconds from ``start``, each alerted in 4 channels
    through 2-card sent messages: the shape of a busy bot's history."""
    step = span / trades
    pairs = trades // 2
    base = await conn.fetchval("SELECT coalesce(max(id), 0) FROM alert_messages")
    await conn.execute(
        "INSERT INTO trades (trade_key, wallet, asset, condition_id, side, size, price,"
        " traded_at, transaction_hash, source)"
        " SELECT $4 || g, '0x' || lpad(to_hex(g % 5000), 40, '0'), 'asset', '', 'BUY', 10, 0.5,"
        " to_timestamp($1::float8 + g * $2::float8), '0x' || md5($4 || g), 'stream'"
        " FROM generate_series(1, $3) g",
        start,
        step,
        trades,
        tag,
    )
    await conn.execute(
        "INSERT INTO alert_messages (id, channel_id, nonce, status, attempts, created_at, sent_at)"
        " SELECT $5 + j * $3 + m, (m + j * 250) % 1000, $6 || j || '-' || m, 'SENT', 1,"
        " to_timestamp($1::float8 + 2 * m * $2::float8 + 1),"
        " to_timestamp($1::float8 + 2 * m * $2::float8 + 1)"
        " FROM generate_series(0, $4 - 1) j, generate_series(1, $3) m",
        start,
        step,
        pairs,
        CHANNELS_PER_TRADE,
        base,
        tag,
    )
    await conn.execute(
        "INSERT INTO alert_deliveries (trade_key, channel_id, guild_id, kind, message_id, status,"
        " created_at, sent_at)"
        " SELECT $6 || t, (((t + 1) / 2) + j * 250) % 1000, 1, 'whale',"
        " $7 + j * $3 + (t + 1) / 2, 'SENT', to_timestamp($1::float8 + t * $2::float8 + 1),"
        " to_timestamp($1::float8 + t * $2::float8 + 1)"
        " FROM generate_series(0, $4 - 1) j, generate_series(1, $5) t",
        start,
        step,
        pairs,
        CHANNELS_PER_TRADE,
        pairs * 2,
        tag,
        base,
    )
    await conn.execute(
        "SELECT setval('alert_messages_id_seq', (SELECT max(id) FROM alert_messages))"
    )


OLD_MARK_SENT = (  # the deliveries' update of mark_sent before this change (255f211)
    "UPDATE alert_deliveries SET status = 'SENT', sent_at = now() WHERE message_id = $1"
    " RETURNING kind, follow_id, channel_id"
)


async def one_message(
    conn: asyncpg.Connection, n: int, *, old: bool = False
) -> tuple[float, float]:
    """Milliseconds of the dispatcher's statements for one fresh alert message, and of marking
    it sent alone (``old``: as the bot did before this change)."""
    key = f"bench-{n}"
    await conn.execute(
        "INSERT INTO trades (trade_key, wallet, asset, condition_id, side, size, price,"
        " traded_at, transaction_hash, source) VALUES ($1, '0xbench', 'a', '', 'BUY', 1, 0.5,"
        " now(), $1, 'stream')",
        key,
    )
    await queries.insert_deliveries(conn, [(key, BENCH_CHANNEL, 1, "whale", None, False)])
    started = time.perf_counter()
    await queries.channel_work(conn, BENCH_CHANNEL)
    rows = await queries.unassigned_deliveries(conn, BENCH_CHANNEL, 200)
    keys = [r.trade.key for r in rows]
    message_id, _ = await queries.create_message(conn, BENCH_CHANNEL, f"bench-{n}", keys)
    marking = time.perf_counter()
    if old:
        async with conn.transaction():
            await conn.execute(
                "UPDATE alert_messages SET status = 'SENT', sent_at = now(),"
                " discord_message_id = $2, attempts = attempts + 1 WHERE id = $1",
                message_id,
                10**17 + n,
            )
            await conn.fetch(OLD_MARK_SENT, message_id)
    else:
        await queries.mark_sent(conn, message_id, 10**17 + n)
    done = time.perf_counter()
    return (done - started) * 1000.0, (done - marking) * 1000.0


async def bookkeeping(pool: asyncpg.Pool, messages: int, *, old: bool = False) -> Samples:
    samples = Samples()
    async with pool.acquire() as conn:
        for n in range(messages):
            whole, mark = await one_message(conn, n + int(time.time() * 1000) % 10**9, old=old)
            samples.message.append(whole)
            samples.mark_sent.append(mark)
    return samples


@dataclass
class Samples:
    message: list[float] = field(default_factory=list)  # ms, the whole per-message path
    mark_sent: list[float] = field(default_factory=list)  # ms, marking it sent alone


async def old_prune(pool: asyncpg.Pool, cutoff: float) -> tuple[str, float]:
    """The single-statement prune this change replaced, under the bot's statement timeout."""
    started = time.perf_counter()
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():  # the server's timeout, a little before asyncpg's
                await conn.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT_S - 1}s'")
                result = await conn.execute(
                    "DELETE FROM trades WHERE traded_at < to_timestamp($1)", cutoff
                )
                await conn.execute(
                    "DELETE FROM alert_messages m WHERE status <> 'PENDING' AND NOT EXISTS"
                    " (SELECT 1 FROM alert_deliveries d WHERE d.message_id = m.id)"
                )
            outcome = f"finished, {result.split()[-1]} trades deleted"
        except (asyncpg.QueryCanceledError, TimeoutError):
            outcome = "cancelled by the statement timeout: rolled back, 0 deleted"
    return outcome, time.perf_counter() - started


async def table_size_mb(pool: asyncpg.Pool) -> float:
    size = await pool.fetchval(
        "SELECT sum(pg_total_relation_size(t))::float8 FROM unnest("
        "ARRAY['trades', 'alert_deliveries', 'alert_messages']::regclass[]) t"
    )
    return float(size) / 1e6


@dataclass
class RetentionPass:
    seconds: float
    deleted: int
    rows_after: int
    size_mb: float


@dataclass
class StorageResult:
    deliveries: int
    messages: int
    fill_s: float
    old_bookkeeping: Samples = field(default_factory=Samples)
    new_bookkeeping: Samples = field(default_factory=Samples)
    old_prune: str = ""
    old_prune_s: float = math.nan
    size_before_mb: float = math.nan
    passes: list[RetentionPass] = field(default_factory=list)


async def bench_storage(pool: asyncpg.Pool, new_messages: int, old_messages: int) -> StorageResult:
    indexes = migration_indexes()
    async with pool.acquire() as conn:
        for name in indexes:
            await conn.execute(f"DROP INDEX {name}")
        progress(f"(c) filling {TRADES * CHANNELS_PER_TRADE:,} deliveries of history")
        started, now = time.perf_counter(), time.time()
        await insert_history(conn, now - DAYS * 86_400, DAYS * 86_400, TRADES, "h")
        await conn.execute("VACUUM ANALYZE")
        fill_s = time.perf_counter() - started
        deliveries = await conn.fetchval("SELECT count(*) FROM alert_deliveries")
        messages = await conn.fetchval("SELECT count(*) FROM alert_messages")
    result = StorageResult(deliveries, messages, fill_s)
    progress(f"(c) bookkeeping without the indexes ({old_messages} messages)")
    result.old_bookkeeping = await bookkeeping(pool, old_messages, old=True)
    progress(f"(c) the old prune, {STATEMENT_TIMEOUT_S} s statement timeout")
    result.old_prune, result.old_prune_s = await old_prune(pool, now - (DAYS - 1) * 86_400)
    async with pool.acquire() as conn:
        for statement in indexes.values():
            await conn.execute(statement)
        await conn.execute("VACUUM ANALYZE")
    progress(f"(c) bookkeeping with the indexes ({new_messages} messages)")
    result.new_bookkeeping = await bookkeeping(pool, new_messages)
    result.size_before_mb = await table_size_mb(pool)
    ingest = TradeIngest(pool, FollowService(pool, EventBus()), EventBus(), on_deliveries=_ignore)
    for day in range(1, 5):
        async with pool.acquire() as conn:
            await insert_history(conn, now + (day - 1) * 86_400, 86_400, TRADES // DAYS, f"d{day}-")
        progress(f"(c) retention pass {day}")
        started = time.perf_counter()
        deleted = await ingest.prune(DAYS, now=now + day * 86_400)
        seconds = time.perf_counter() - started
        rows = await pool.fetchval("SELECT count(*) FROM alert_deliveries")
        result.passes.append(RetentionPass(seconds, deleted, rows, await table_size_mb(pool)))
    return result


def _ignore(_: set[int]) -> None:
    return None


def storage_rows(row: Callable[[str, str], None], c: StorageResult) -> None:
    def figures(samples: list[float]) -> str:
        return f"p50 {percentile(samples, 50):.2f} ms  p99 {percentile(samples, 99):.2f} ms"

    new, old = c.new_bookkeeping, c.old_bookkeeping
    row(
        "  history",
        f"{c.deliveries:,} deliveries, {c.messages:,} messages, 30 days (filled in"
        f" {c.fill_s:.0f} s)",
    )
    row(
        "  per-message bookkeeping (4 statements)",
        f"{figures(new.message)}  ({len(new.message)} messages)",
    )
    row("  of which marking it sent", figures(new.mark_sent))
    slower = percentile(old.mark_sent, 50) / percentile(new.mark_sent, 50)
    row(
        "  marking it sent before this change",
        f"{figures(old.mark_sent)}  ({len(old.mark_sent)} messages, {slower:,.0f}x slower)",
    )
    row("  old prune (one statement, no index)", f"{c.old_prune} after {c.old_prune_s:.1f} s")
    row("  tables before the passes", f"{c.size_before_mb:,.0f} MB")
    for n, p in enumerate(c.passes, start=1):
        row(
            f"  retention pass {n} (after a day of new history)",
            f"{p.seconds:.1f} s, {p.deleted:,} trades deleted, {p.rows_after:,} deliveries"
            f" kept, tables {p.size_mb:,.0f} MB",
        )


def storage_goals(c: StorageResult) -> list[dict[str, Any]]:
    typical = percentile(c.new_bookkeeping.message, 50)
    sizes = [p.size_mb for p in c.passes]
    flat = bool(sizes) and max(sizes) <= 1.05 * min(sizes)
    return [
        {
            "goal": f"bookkeeping <= {GOAL_BOOKKEEPING_MS:g} ms per message at 1M rows (p50)",
            "value": f"{typical:.2f} ms",
            "pass": typical <= GOAL_BOOKKEEPING_MS,
        },
        {
            "goal": "retention completes, size flat across passes",
            "value": " / ".join(f"{s:,.0f}" for s in sizes) + " MB",
            "pass": flat and all(p.deleted > 0 for p in c.passes),
        },
    ]
