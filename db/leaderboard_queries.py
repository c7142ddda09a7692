"""SQL for leaderboard snapshots and trader stats: the only place that spells these tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.services.boards import METRICS, BoardEntry, PeriodBoard

_ENTRY_COLUMNS = (
    "snapshot_id",
    "metric",
    "rank",
    "wallet",
    "user_name",
    "x_username",
    "verified",
    "pnl",
    "volume",
    "score",
    "components",
)


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


async def begin_snapshots(conn: asyncpg.Connection, periods: Sequence[str]) -> dict[str, int]:
    """Record an IN_PROGRESS meta row per period; returns their ids."""
    rows = await conn.fetch(
        "INSERT INTO leaderboard_snapshots (period, status)"
        " SELECT unnest($1::text[]), 'IN_PROGRESS' RETURNING id, period",
        list(periods),
    )
    return {row["period"]: row["id"] for row in rows}


async def fail_snapshot(
    conn: asyncpg.Connection, snapshot_id: int, error: str, duration_ms: int
) -> None:
    await conn.execute(
        "UPDATE leaderboard_snapshots SET status = 'FAILED', finished_at = now(), error = $2,"
        " duration_ms = $3 WHERE id = $1 AND status = 'IN_PROGRESS'",
        snapshot_id,
        error[:2000],
        duration_ms,
    )


async def write_boards(
    conn: asyncpg.Connection, boards: Iterable[PeriodBoard], duration_ms: int
) -> int:
    """Write every board's entries and mark its meta row SUCCESS, all in one transaction."""
    records: list[tuple[Any, ...]] = []
    boards = list(boards)
    for board in boards:
        for metric in METRICS:
            for rank, e in enumerate(board.by_metric.get(metric, ()), start=1):
                records.append(
                    (
                        board.snapshot_id,
                        metric,
                        rank,
                        e.wallet,
                        e.user_name,
                        e.x_username,
                        e.verified,
                        e.pnl,
                        e.volume,
                        e.score,
                        list(e.components),
                    )
                )
    async with conn.transaction():
        if records:
            await conn.copy_records_to_table(
                "leaderboard_entries", records=records, columns=_ENTRY_COLUMNS
            )
        await conn.executemany(
            "UPDATE leaderboard_snapshots SET status = 'SUCCESS', finished_at = $2,"
            " trader_count = $3, duration_ms = $4, component_names = $5, error = NULL"
            " WHERE id = $1",
            [
                (
                    b.snapshot_id,
                    _ts(b.updated_at),
                    b.trader_count,
                    duration_ms,
                    list(b.component_names),
                )
                for b in boards
            ],
        )
    return len(records)


async def load_latest_boards(conn: asyncpg.Connection) -> dict[str, PeriodBoard]:
    """The latest successful board of each period, for a warm start."""
    metas = await conn.fetch(
        "SELECT DISTINCT ON (period) id, period, finished_at, component_names"
        " FROM leaderboard_snapshots WHERE status = 'SUCCESS' ORDER BY period, id DESC"
    )
    boards: dict[str, PeriodBoard] = {}
    for meta in metas:
        rows = await conn.fetch(
            "SELECT metric, wallet, user_name, x_username, verified, pnl, volume, score, components"
            " FROM leaderboard_entries WHERE snapshot_id = $1 ORDER BY metric, rank",
            meta["id"],
        )
        by_metric: dict[str, list[BoardEntry]] = {metric: [] for metric in METRICS}
        for row in rows:
            by_metric.setdefault(row["metric"], []).append(
                BoardEntry(
                    wallet=row["wallet"],
                    user_name=row["user_name"],
                    x_username=row["x_username"],
                    verified=row["verified"],
                    pnl=row["pnl"],
                    volume=row["volume"],
                    score=row["score"],
                    components=tuple(row["components"] or ()),
                )
            )
        boards[meta["period"]] = PeriodBoard(
            period=meta["period"],
            snapshot_id=meta["id"],
            updated_at=meta["finished_at"].timestamp(),
            component_names=tuple(meta["component_names"] or ()),
            by_metric={metric: tuple(entries) for metric, entries in by_metric.items()},
        )
    return boards


async def last_refresh_states(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    """The most recent meta row of each period (whatever its status)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (period) id, period, status, started_at, finished_at, error"
        " FROM leaderboard_snapshots ORDER BY period, id DESC"
    )
    return {row["period"]: row for row in rows}


async def prune(conn: asyncpg.Connection, retention_days: float) -> tuple[int, int]:
    """Drop entries of all but the latest successful snapshot per period, and old metadata."""
    entries = await conn.execute(
        "DELETE FROM leaderboard_entries e WHERE e.snapshot_id NOT IN ("
        " SELECT DISTINCT ON (period) id FROM leaderboard_snapshots"
        " WHERE status = 'SUCCESS' ORDER BY period, id DESC)"
    )
    metas = await conn.execute(
        "DELETE FROM leaderboard_snapshots WHERE started_at < now() - make_interval(secs => $1)"
        " AND id NOT IN (SELECT DISTINCT ON (period) id FROM leaderboard_snapshots"
        " WHERE status = 'SUCCESS' ORDER BY period, id DESC)",
        retention_days * 86400.0,
    )
    return int(entries.split()[-1]), int(metas.split()[-1])


async def mark_stale_in_progress(conn: asyncpg.Connection) -> None:
    """A crash mid-refresh leaves IN_PROGRESS rows; on start they are recorded as FAILED."""
    await conn.execute(
        "UPDATE leaderboard_snapshots SET status = 'FAILED', finished_at = now(),"
        " error = 'interrupted (process stopped during refresh)' WHERE status = 'IN_PROGRESS'"
    )


async def upsert_trader_stats(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, float, dict[str, Any]]]
) -> None:
    if rows:
        await conn.executemany(
            "INSERT INTO trader_stats (wallet, fetched_at, stats) VALUES ($1, $2, $3)"
            " ON CONFLICT (wallet) DO UPDATE SET fetched_at = EXCLUDED.fetched_at,"
            " stats = EXCLUDED.stats",
            [(wallet, _ts(fetched_at), stats) for wallet, fetched_at, stats in rows],
        )


async def load_trader_stats(conn: asyncpg.Connection) -> list[tuple[str, float, dict[str, Any]]]:
    rows = await conn.fetch("SELECT wallet, fetched_at, stats FROM trader_stats")
    return [(row["wallet"], row["fetched_at"].timestamp(), row["stats"]) for row in rows]


async def get_state(conn: asyncpg.Connection, key: str) -> str | None:
    value = await conn.fetchval("SELECT value FROM bot_state WHERE key = $1", key)
    return None if value is None else str(value)


async def set_state(conn: asyncpg.Connection, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO bot_state (key, value) VALUES ($1, $2) ON CONFLICT (key)"
        " DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        key,
        value,
    )
