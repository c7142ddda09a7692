"""SQL for leaderboard snapshots and trader stats: the only place that spells these tables."""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import repeat, starmap
from operator import attrgetter
from typing import Any

import asyncpg

from bot.leaderboard.models import BoardEntry, PeriodBoard, SnapshotState
from db.pool import Connection

_ENTRY_COLUMNS = (
    "snapshot_id",
    "rank_pnl",
    "rank_volume",
    "rank_score",
    "verified",
    "pnl",
    "volume",
    "score",
    "wallet",
    "user_name",
    "x_username",
    "components",
)


@functools.cache
def _components_struct(count: int) -> struct.Struct:
    """The bytea layout of ``count`` components: little-endian float8s, no header."""
    return struct.Struct(f"<{count}d")


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


async def begin_snapshots(conn: Connection, periods: Sequence[str]) -> dict[str, int]:
    """Record an IN_PROGRESS meta row per period; returns their ids."""
    rows = await conn.fetch(
        "INSERT INTO leaderboard_snapshots (period, status)"
        " SELECT unnest($1::text[]), 'IN_PROGRESS' RETURNING id, period",
        list(periods),
    )
    return {row["period"]: row["id"] for row in rows}


async def fail_snapshot(conn: Connection, snapshot_id: int, error: str, duration_ms: int) -> None:
    await conn.execute(
        "UPDATE leaderboard_snapshots SET status = 'FAILED', finished_at = now(), error = $2,"
        " duration_ms = $3 WHERE id = $1 AND status = 'IN_PROGRESS'",
        snapshot_id,
        error[:2000],
        duration_ms,
    )


def _ranks(board: PeriodBoard) -> tuple[Sequence[BoardEntry], list[int], list[int]]:
    """The entries in score order with their pnl and volume ranks (1-based).

    Boards share one BoardEntry object across their rankings (build_board and
    load_latest_boards both do), so ranks are found by identity; a board whose rankings hold
    equal but distinct objects falls back to matching by value.
    """
    by_score = board.by_metric.get("score", ())
    score_ids = list(map(id, by_score))
    columns: list[list[int]] = []
    for metric in ("pnl", "volume"):
        ranking = board.by_metric.get(metric, ())
        if len(ranking) != len(by_score):
            raise ValueError(f"{board.period}: the {metric} ranking does not hold every trader")
        rank_of = dict(zip(map(id, ranking), range(1, len(ranking) + 1), strict=True))
        try:
            column = list(map(rank_of.__getitem__, score_ids))
        except KeyError:
            column = []
        if len(set(column)) != len(by_score):  # not found, or not a permutation of 1..N
            column = _ranks_by_value(board.period, metric, ranking, by_score)
        columns.append(column)
    return by_score, columns[0], columns[1]


def _ranks_by_value(
    period: str, metric: str, ranking: Sequence[BoardEntry], by_score: Sequence[BoardEntry]
) -> list[int]:
    ranks_of: dict[BoardEntry, list[int]] = {}
    for rank, e in enumerate(ranking, start=1):
        ranks_of.setdefault(e, []).append(rank)
    for ranks in ranks_of.values():
        ranks.reverse()  # pop() hands out equal entries' ranks in ranking order
    try:
        return [ranks_of[e].pop() for e in by_score]
    except (KeyError, IndexError):
        raise ValueError(f"{period}: the {metric} ranking does not hold every trader") from None


# BoardEntry fields stored as they are, in _ENTRY_COLUMNS order (after the ranks).
_ENTRY_FIELDS = tuple(
    attrgetter(name)
    for name in ("verified", "pnl", "volume", "score", "wallet", "user_name", "x_username")
)
_ENTRY_COMPONENTS = attrgetter("components")


async def write_boards(conn: Connection, boards: Iterable[PeriodBoard], duration_ms: int) -> int:
    """Write every board (one row per trader) and mark its meta row SUCCESS, in one transaction.

    Returns the number of rows stored: one per trader and board, holding its rank by every
    metric (so a board of N traders is N rows for its 3 x N ranked places).
    """
    records: list[tuple[Any, ...]] = []
    boards = list(boards)
    for board in boards:
        by_score, rank_pnl, rank_volume = _ranks(board)
        pack = _components_struct(len(board.component_names)).pack
        try:
            packed = list(starmap(pack, map(_ENTRY_COMPONENTS, by_score)))
        except struct.error as exc:
            raise ValueError(
                f"{board.period}: components do not match {board.component_names}: {exc}"
            ) from None
        # Rows in _ENTRY_COLUMNS order, zipped column by column (no Python code per row).
        records.extend(
            zip(
                repeat(board.snapshot_id, len(by_score)),
                rank_pnl,
                rank_volume,
                range(1, len(by_score) + 1),
                *(map(getter, by_score) for getter in _ENTRY_FIELDS),
                packed,
                strict=True,
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


async def load_latest_boards(conn: Connection) -> dict[str, PeriodBoard]:
    """The latest successful board of each period, for a warm start."""
    metas = await conn.fetch(
        "SELECT DISTINCT ON (period) id, period, finished_at, component_names"
        " FROM leaderboard_snapshots WHERE status = 'SUCCESS' ORDER BY period, id DESC"
    )
    if not metas:
        return {}
    rows = await conn.fetch(
        "SELECT snapshot_id, rank_pnl, rank_volume, verified, pnl, volume, score, wallet,"
        " user_name, x_username, components FROM leaderboard_entries"
        " WHERE snapshot_id = ANY($1::bigint[]) ORDER BY snapshot_id, rank_score",
        [meta["id"] for meta in metas],
    )
    by_snapshot: dict[int, list[asyncpg.Record]] = {meta["id"]: [] for meta in metas}
    for row in rows:
        by_snapshot[row["snapshot_id"]].append(row)
    boards: dict[str, PeriodBoard] = {}
    for meta in metas:
        names = tuple(meta["component_names"] or ())
        unpack = functools.partial(_unpack_components, _components_struct(len(names)))
        stored = by_snapshot[meta["id"]]
        by_score = tuple(
            BoardEntry(
                wallet=row["wallet"],
                user_name=row["user_name"],
                x_username=row["x_username"],
                verified=row["verified"],
                pnl=row["pnl"],
                volume=row["volume"],
                score=row["score"],
                components=unpack(row["components"]),
            )
            for row in stored
        )
        boards[meta["period"]] = PeriodBoard(
            period=meta["period"],
            snapshot_id=meta["id"],
            updated_at=meta["finished_at"].timestamp(),
            component_names=names,
            by_metric={
                "pnl": _reorder(by_score, stored, "rank_pnl"),
                "volume": _reorder(by_score, stored, "rank_volume"),
                "score": by_score,
            },
        )
    return boards


def _unpack_components(layout: struct.Struct, data: bytes) -> tuple[float, ...]:
    if len(data) == layout.size:
        return layout.unpack(data)
    # Not the meta row's component count (hand-edited data?): read the whole doubles present.
    return _components_struct(len(data) // 8).unpack_from(data)


def _reorder(
    entries: Sequence[BoardEntry], rows: Sequence[asyncpg.Record], column: str
) -> tuple[BoardEntry, ...]:
    """The entries (one per stored row, same order) ordered by the rows' rank ``column``."""
    ranks = [row[column] for row in rows]
    return tuple(entries[i] for i in sorted(range(len(ranks)), key=ranks.__getitem__))


async def last_refresh_states(conn: Connection) -> dict[str, SnapshotState]:
    """The most recent meta row of each period (whatever its status)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (period) period, status, error"
        " FROM leaderboard_snapshots ORDER BY period, id DESC"
    )
    return {row["period"]: SnapshotState(row["status"], row["error"]) for row in rows}


async def prune(conn: Connection, retention_days: float) -> tuple[int, int]:
    """Drop entries of all but the latest successful snapshot per period, and old metadata.

    Entries have no foreign key (so no cascade): they are deleted here by snapshot, and any
    left by a meta row deleted in between (a refresh committing concurrently) go next time.
    """
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


async def mark_stale_in_progress(conn: Connection) -> None:
    """A crash mid-refresh leaves IN_PROGRESS rows; on start they are recorded as FAILED."""
    await conn.execute(
        "UPDATE leaderboard_snapshots SET status = 'FAILED', finished_at = now(),"
        " error = 'interrupted (process stopped during refresh)' WHERE status = 'IN_PROGRESS'"
    )


async def upsert_trader_stats(
    conn: Connection, rows: Sequence[tuple[str, float, dict[str, Any]]]
) -> None:
    if rows:
        await conn.executemany(
            "INSERT INTO trader_stats (wallet, fetched_at, stats) VALUES ($1, $2, $3)"
            " ON CONFLICT (wallet) DO UPDATE SET fetched_at = EXCLUDED.fetched_at,"
            " stats = EXCLUDED.stats",
            [(wallet, _ts(fetched_at), stats) for wallet, fetched_at, stats in rows],
        )


async def load_trader_stats(conn: Connection) -> list[tuple[str, float, dict[str, Any]]]:
    rows = await conn.fetch("SELECT wallet, fetched_at, stats FROM trader_stats")
    return [(row["wallet"], row["fetched_at"].timestamp(), row["stats"]) for row in rows]


async def get_state(conn: Connection, key: str) -> str | None:
    value = await conn.fetchval("SELECT value FROM bot_state WHERE key = $1", key)
    return None if value is None else str(value)


async def set_state(conn: Connection, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO bot_state (key, value) VALUES ($1, $2) ON CONFLICT (key)"
        " DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        key,
        value,
    )
