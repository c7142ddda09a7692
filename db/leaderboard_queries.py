"""SQL for leaderboard snapshots and trader stats: the only place that spells these tables."""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from itertools import repeat, starmap
from operator import attrgetter
from typing import Any

import asyncpg

from bot.leaderboard.models import (
    OVERALL,
    BoardEntry,
    PeriodBoard,
    Pick,
    ScoreRecord,
    SnapshotState,
)
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


async def begin_snapshots(
    conn: Connection, periods: Sequence[str], category: str = OVERALL
) -> dict[str, int]:
    """Record an IN_PROGRESS meta row per period of one category; returns their ids."""
    rows = await conn.fetch(
        "INSERT INTO leaderboard_snapshots (period, category, status)"
        " SELECT unnest($1::text[]), $2, 'IN_PROGRESS' RETURNING id, period",
        list(periods),
        category,
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


def _rank_column(
    board: PeriodBoard, metric: str, base: Sequence[BoardEntry], complete: bool
) -> list[int | None]:
    """Each ``base`` entry's 1-based rank in the metric's ranking (None where not ranked).

    Boards share one BoardEntry object across their rankings (build_board and
    load_latest_boards both do), so ranks are found by identity; a board whose rankings hold
    equal but distinct objects falls back to matching by value. ``complete``: the ranking
    must hold every entry (pnl and volume do; score holds the scored ones only).
    """
    ranking = board.by_metric.get(metric, ())
    if complete and len(ranking) != len(base):
        raise ValueError(f"{board.period}: the {metric} ranking does not hold every trader")
    rank_of = dict(zip(map(id, ranking), range(1, len(ranking) + 1), strict=True))
    column = list(map(rank_of.get, map(id, base)))
    ranked = [rank for rank in column if rank is not None]
    if len(ranked) == len(ranking) and len(set(ranked)) == len(ranking):
        return column  # found by identity, a permutation of 1..len(ranking)
    return _ranks_by_value(board.period, metric, ranking, base)


def _ranks_by_value(
    period: str, metric: str, ranking: Sequence[BoardEntry], base: Sequence[BoardEntry]
) -> list[int | None]:
    ranks_of: dict[BoardEntry, list[int]] = {}
    for rank, e in enumerate(ranking, start=1):
        ranks_of.setdefault(e, []).append(rank)
    for ranks in ranks_of.values():
        ranks.reverse()  # pop() hands out equal entries' ranks in ranking order
    column = [ranks_of[e].pop() if ranks_of.get(e) else None for e in base]
    if any(ranks_of.values()):
        raise ValueError(f"{period}: the {metric} ranking holds a trader missing from the board")
    return column


# BoardEntry fields stored as they are, in _ENTRY_COLUMNS order (after the ranks).
_ENTRY_FIELDS = tuple(
    attrgetter(name)
    for name in ("verified", "pnl", "volume", "score", "wallet", "user_name", "x_username")
)
_ENTRY_COMPONENTS = attrgetter("components")


def _board_records(board: PeriodBoard) -> list[tuple[Any, ...]]:
    """One row per trader (in pnl order) holding its rank by every metric."""
    by_pnl = board.by_metric.get("pnl", ())
    rank_volume = _rank_column(board, "volume", by_pnl, complete=True)
    rank_score = _rank_column(board, "score", by_pnl, complete=False)
    pack = _components_struct(len(board.component_names)).pack
    try:
        packed = list(starmap(pack, map(_ENTRY_COMPONENTS, by_pnl)))
    except struct.error as exc:
        raise ValueError(
            f"{board.period}: components do not match {board.component_names}: {exc}"
        ) from None
    # Rows in _ENTRY_COLUMNS order, zipped column by column (no Python code per row).
    return list(
        zip(
            repeat(board.snapshot_id, len(by_pnl)),
            range(1, len(by_pnl) + 1),
            rank_volume,
            rank_score,
            *(map(getter, by_pnl) for getter in _ENTRY_FIELDS),
            packed,
            strict=True,
        )
    )


async def write_boards(conn: Connection, boards: Iterable[PeriodBoard], duration_ms: int) -> int:
    """Write every board (one row per trader) and mark its meta row SUCCESS, in one transaction.

    Returns the number of rows stored: one per trader and board, holding its rank by every
    metric (so a board of N traders is N rows for its up to 3 x N ranked places).
    """
    boards = list(boards)
    records = [record for board in boards for record in _board_records(board)]
    async with conn.transaction():
        if records:
            await conn.copy_records_to_table(
                "leaderboard_entries", records=records, columns=_ENTRY_COLUMNS
            )
        await conn.executemany(
            "UPDATE leaderboard_snapshots SET status = 'SUCCESS', finished_at = $2,"
            " trader_count = $3, duration_ms = $4, component_names = $5, error = NULL,"
            " pending_count = $6, thin_count = $7 WHERE id = $1",
            [
                (
                    b.snapshot_id,
                    _ts(b.updated_at),
                    b.trader_count,
                    duration_ms,
                    list(b.component_names),
                    b.pending,
                    b.thin,
                )
                for b in boards
            ],
        )
    return len(records)


BoardKey = tuple[str, str]  # (category, period)


async def load_latest_boards(conn: Connection) -> dict[BoardKey, PeriodBoard]:
    """The latest successful board of each (category, period), for a warm start."""
    metas = await conn.fetch(
        "SELECT DISTINCT ON (category, period) id, category, period, finished_at,"
        " component_names, pending_count, thin_count FROM leaderboard_snapshots"
        " WHERE status = 'SUCCESS' ORDER BY category, period, id DESC"
    )
    if not metas:
        return {}
    rows = await conn.fetch(
        "SELECT snapshot_id, rank_volume, rank_score, verified, pnl, volume, score, wallet,"
        " user_name, x_username, components FROM leaderboard_entries"
        " WHERE snapshot_id = ANY($1::bigint[]) ORDER BY snapshot_id, rank_pnl",
        [meta["id"] for meta in metas],
    )
    by_snapshot: dict[int, list[asyncpg.Record]] = {meta["id"]: [] for meta in metas}
    for row in rows:
        by_snapshot[row["snapshot_id"]].append(row)
    return {
        (meta["category"], meta["period"]): _board(meta, by_snapshot[meta["id"]]) for meta in metas
    }


def _board(meta: asyncpg.Record, stored: Sequence[asyncpg.Record]) -> PeriodBoard:
    names = tuple(meta["component_names"] or ())
    unpack = functools.partial(_unpack_components, _components_struct(len(names)))
    by_pnl = tuple(
        BoardEntry(
            wallet=row["wallet"],
            user_name=row["user_name"],
            x_username=row["x_username"],
            verified=row["verified"],
            pnl=row["pnl"],
            volume=row["volume"],
            score=row["score"],
            components=unpack(row["components"]),
            scored=row["rank_score"] is not None,
        )
        for row in stored
    )
    return PeriodBoard(
        period=meta["period"],
        snapshot_id=meta["id"],
        updated_at=meta["finished_at"].timestamp(),
        component_names=names,
        by_metric={
            "pnl": by_pnl,
            "volume": _reorder(by_pnl, stored, "rank_volume"),
            "score": _reorder(by_pnl, stored, "rank_score"),
        },
        category=meta["category"],
        pending=meta["pending_count"],
        thin=meta["thin_count"],
    )


def _unpack_components(layout: struct.Struct, data: bytes) -> tuple[float, ...]:
    if len(data) == layout.size:
        return layout.unpack(data)
    # Not the meta row's component count (hand-edited data?): read the whole doubles present.
    return _components_struct(len(data) // 8).unpack_from(data)


def _reorder(
    entries: Sequence[BoardEntry], rows: Sequence[asyncpg.Record], column: str
) -> tuple[BoardEntry, ...]:
    """The entries (one per stored row, same order) ranked by the rows' rank ``column``;
    rows without a rank in it (NULL) are left out."""
    ranks = [row[column] for row in rows]
    ranked = [i for i in range(len(ranks)) if ranks[i] is not None]
    return tuple(entries[i] for i in sorted(ranked, key=ranks.__getitem__))


async def last_refresh_states(conn: Connection) -> dict[BoardKey, SnapshotState]:
    """The most recent meta row of each (category, period), whatever its status."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (category, period) category, period, status, error"
        " FROM leaderboard_snapshots ORDER BY category, period, id DESC"
    )
    return {
        (row["category"], row["period"]): SnapshotState(row["status"], row["error"]) for row in rows
    }


async def prune(conn: Connection, retention_days: float) -> tuple[int, int]:
    """Drop entries of all but the latest successful snapshot per board, and old metadata.

    Entries have no foreign key (so no cascade): they are deleted here by snapshot, and any
    left by a meta row deleted in between (a refresh committing concurrently) go next time.
    """
    entries = await conn.execute(
        "DELETE FROM leaderboard_entries e WHERE e.snapshot_id NOT IN ("
        " SELECT DISTINCT ON (category, period) id FROM leaderboard_snapshots"
        " WHERE status = 'SUCCESS' ORDER BY category, period, id DESC)"
    )
    metas = await conn.execute(
        "DELETE FROM leaderboard_snapshots WHERE started_at < now() - make_interval(secs => $1)"
        " AND id NOT IN (SELECT DISTINCT ON (category, period) id FROM leaderboard_snapshots"
        " WHERE status = 'SUCCESS' ORDER BY category, period, id DESC)",
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


async def latest_pick_day(conn: Connection) -> date | None:
    value = await conn.fetchval("SELECT max(picked_on) FROM score_picks")
    return value if isinstance(value, date) else None


async def store_picks(conn: Connection, picks: Sequence[Pick]) -> None:
    """A week's top 10s; storing the same day's picks twice changes nothing."""
    await conn.executemany(
        "INSERT INTO score_picks (picked_on, metric, rank, wallet) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        [(p.picked_on, p.metric, p.rank, p.wallet) for p in picks],
    )


async def picks_needing_details(
    conn: Connection, since: date, details_before: float, limit: int
) -> list[str]:
    """Wallets picked since ``since`` whose stored details are older than ``details_before``
    (or missing): their daily statistics must keep coming after they leave the boards."""
    rows = await conn.fetch(
        "SELECT p.wallet FROM score_picks p LEFT JOIN traders t ON t.wallet = p.wallet"
        " WHERE p.picked_on >= $1 AND (t.details_at IS NULL OR t.details_at < $2)"
        " GROUP BY p.wallet ORDER BY min(t.details_at) NULLS FIRST LIMIT $3",
        since,
        _ts(details_before),
        limit,
    )
    return [row["wallet"] for row in rows]


async def picks_record(conn: Connection, since: date, horizon_days: int) -> ScoreRecord | None:
    """How each metric's weekly picks since ``since`` did: realised PnL per dollar traded from
    the day after each pick to ``horizon_days`` later, pooled over every pick and trader."""
    rows = await conn.fetch(
        "SELECT p.metric, min(p.picked_on) AS first_pick, count(DISTINCT p.picked_on) AS picks,"
        " coalesce(sum(d.realized_pnl), 0) AS pnl, coalesce(sum(d.volume), 0) AS volume"
        " FROM score_picks p LEFT JOIN trader_daily_stats d ON d.wallet = p.wallet"
        " AND d.day > p.picked_on AND d.day <= p.picked_on + $2::int"
        " WHERE p.picked_on >= $1 GROUP BY p.metric",
        since,
        horizon_days,
    )
    if not rows:
        return None
    return ScoreRecord(
        first_pick=min(row["first_pick"] for row in rows),
        picks=max(row["picks"] for row in rows),
        per_dollar={
            row["metric"]: row["pnl"] / row["volume"] if row["volume"] > 0 else None for row in rows
        },
    )


async def prune_picks(conn: Connection, before: date) -> None:
    await conn.execute("DELETE FROM score_picks WHERE picked_on < $1", before)
