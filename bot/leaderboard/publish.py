"""Publishing boards: score the candidates, write them to PostgreSQL, then swap memory.

Shared by the overall refresh (bot/leaderboard/service.py) and the category boards
(bot/leaderboard/categories.py), so both keep the same guarantees: every board of one refresh
is written in one transaction before any of them is swapped into memory (a restart never knows
less than the running bot did), a failed board keeps its previous one and is recorded, and the
freshness users see comes from one place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import asyncpg

from bot.cache import HotCache
from bot.failures import failure_kind
from bot.leaderboard.boards import WalletScoring, build_board, volume_floors
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import OVERALL, PERIODS, PeriodBoard
from bot.leaderboard.scoring import Priors, population_priors
from bot.leaderboard.stats_store import TraderStatsStore
from bot.polymarket.records import CATEGORIES, LeaderboardRow
from db import leaderboard_queries as queries

log = logging.getLogger(__name__)


@dataclass
class PeriodState:
    """What commands need to say about freshness: when it last worked, and whether it failed."""

    last_success_at: float | None = None
    last_error: str | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True)
class Freshness:
    stale: bool
    since: float | None  # when the served data was last refreshed successfully
    reason: str | None


CATEGORY_SLOT = "leaderboard:categories"  # every category board, by (category, period)
NAME_PERIODS = ("all", "month", "week", "day")  # a trader's username: the longest board's first


def slot_name(period: str) -> str:
    """The hot-cache snapshot holding one overall board."""
    return f"leaderboard:{period}"


def elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class BoardPublisher:
    """Every board in memory (overall and categories), and the one way to replace them."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        cache: HotCache,
        stats: TraderStatsStore,
        *,
        evidence: Evidence,
        clock: Callable[[], float] = time.time,
        announce: Callable[[dict[str, int]], None] = lambda ids: None,
    ) -> None:
        """``announce``: boards (or a failed refresh) were just stored, by snapshot id; the
        other processes of a cluster reload them (bot/cluster/)."""
        self._pool = pool
        self._announce = announce
        self._cache = cache
        self.stats = stats
        self.evidence = evidence
        self._clock = clock
        self.states: dict[str, dict[str, PeriodState]] = {
            category: {period: PeriodState() for period in PERIODS}
            for category in (OVERALL, *CATEGORIES)
        }
        self.priors = Priors()
        # 90-day volume floors from the overall boards' rows, reused by category boards.
        self._overall_floors: dict[str, float] = {}
        # wallet -> username of the overall boards, rebuilt by ``swap`` with the boards
        self._known_traders: Mapping[str, str] = MappingProxyType({})

    def board(self, period: str, category: str = OVERALL) -> PeriodBoard | None:
        if category == OVERALL:
            current = self._cache.snapshot(slot_name(period)).get()
            return None if current is None else current.value
        return self._category_boards().get((category, period))

    def wallets(self, categories: bool) -> set[str]:
        """Every trader on the overall boards (or, with ``categories``, the category boards)."""
        boards = (
            self._category_boards().values()
            if categories
            else [b for p in PERIODS if (b := self.board(p)) is not None]
        )
        return {e.wallet for board in boards for e in board.by_metric["pnl"]}

    def known_traders(self) -> Mapping[str, str]:
        """wallet -> username of every trader on an overall board (autocomplete asks on every
        keystroke): built once per swap, read-only, so callers share it and cannot change it."""
        return self._known_traders

    def _names_on_overall_boards(self) -> Mapping[str, str]:
        names: dict[str, str] = {}
        for period in NAME_PERIODS:
            board = self.board(period)
            for entry in board.by_metric["pnl"] if board else ():
                names.setdefault(entry.wallet, entry.user_name)
        return MappingProxyType(names)

    def _category_boards(self) -> Mapping[tuple[str, str], PeriodBoard]:
        current = self._cache.snapshot(CATEGORY_SLOT).get()
        return {} if current is None else current.value

    def swap(self, boards: Iterable[PeriodBoard]) -> None:
        """Serve ``boards`` from now on (they must already be in PostgreSQL, or come from it).

        Overall boards have a slot each; the 40 category boards share one (replaced whole,
        with the new boards in it), so they are swapped together and listed once. The known
        traders are rebuilt in the same call, with no await in between: a reader never sees
        new boards with old names."""
        changed: dict[tuple[str, str], PeriodBoard] = {}
        overall_changed = False
        for board in boards:
            if board.category == OVERALL:
                self._cache.snapshot(slot_name(board.period)).swap(
                    board, updated_at=board.updated_at
                )
                overall_changed = True
            else:
                changed[board.category, board.period] = board
            self.states[board.category][board.period].last_success_at = board.updated_at
        if changed:
            merged = {**self._category_boards(), **changed}
            newest = max(b.updated_at for b in changed.values())
            self._cache.snapshot(CATEGORY_SLOT).swap(merged, updated_at=newest)
        if overall_changed:
            self._known_traders = self._names_on_overall_boards()

    def freshness(self, period: str, category: str, interval: float) -> Freshness:
        """Stale when the last refresh failed or none has completed for two intervals."""
        board = self.board(period, category)
        state = self.states[category][period]
        since = board.updated_at if board is not None else None
        if state.consecutive_failures > 0:
            return Freshness(True, since, state.last_error or "the last refresh failed")
        if since is not None and self._clock() - since > 2 * interval:
            return Freshness(True, since, "no refresh has completed recently")
        return Freshness(False, since, None)

    async def load(self) -> int:
        """The latest stored boards and their refresh states (at start, and on a process that
        is not the leader when the leader announces new ones); returns how many boards. A
        board already held is not swapped again, so its version only moves when it changed."""
        async with self._pool.acquire() as conn:
            boards = await queries.load_latest_boards(conn)
            last = await queries.last_refresh_states(conn)
        # a category this version does not know is left out
        self.swap(
            b
            for (c, p), b in boards.items()
            if c in self.states and p in PERIODS and not self._holds(b)
        )
        for (category, period), snapshot in last.items():
            state = self.states.get(category, {}).get(period)
            if state is None or snapshot.status == "IN_PROGRESS":
                continue
            failed = snapshot.status == "FAILED"
            state.consecutive_failures = max(1, state.consecutive_failures) if failed else 0
            state.last_error = snapshot.error if failed else None
        return len(boards)

    def _holds(self, board: PeriodBoard) -> bool:
        held = self.board(board.period, board.category)
        return held is not None and held.snapshot_id == board.snapshot_id

    async def begin(self, periods: Iterable[str], category: str = OVERALL) -> dict[str, int]:
        async with self._pool.acquire() as conn:
            return await queries.begin_snapshots(conn, list(periods), category)

    async def publish(
        self,
        candidates: Mapping[str, list[LeaderboardRow]],
        failed: Mapping[str, str],
        snapshot_ids: Mapping[str, int],
        started: float,
        category: str = OVERALL,
    ) -> int:
        """Score, write every board in one transaction, then swap memory; returns rows written."""
        now = self._clock()
        self.priors = population_priors(self.stats.stats.values())
        floors = volume_floors(candidates)
        if category == OVERALL:
            self._overall_floors = floors
        else:
            for wallet, volume in self._overall_floors.items():
                floors[wallet] = max(volume, floors.get(wallet, 0.0))
        memo: dict[str, WalletScoring] = {}  # shared by the periods: computed once per trader
        boards = [
            build_board(
                period,
                rows,
                self.stats.stats,
                now=now,
                priors=self.priors,
                evidence=self.evidence,
                volume_floor=floors,
                snapshot_id=snapshot_ids[period],
                category=category,
                memo=memo,
            )
            for period, rows in candidates.items()
        ]
        duration_ms = elapsed_ms(started)
        async with self._pool.acquire() as conn, conn.transaction():
            # one transaction: PostgreSQL never has the boards without the failed periods' rows
            rows_written = await queries.write_boards(conn, boards, duration_ms)
            for period, error in failed.items():
                await queries.fail_snapshot(conn, snapshot_ids[period], error, duration_ms)
        # PostgreSQL has the boards: now swap memory, so a restart never knows less than we do.
        self.swap(boards)
        for board in boards:
            state = self.states[category][board.period]
            state.last_error = None
            state.consecutive_failures = 0
        self.mark_failed(failed, category)
        self._announce(self._keys(category, snapshot_ids))
        return rows_written

    def held_ids(self) -> dict[str, int]:
        """The snapshot ids of every board in memory, named as announced (``period`` overall,
        ``category/period`` otherwise): another process's announcement is news only when its
        ids differ."""
        held: dict[str, int] = {}
        for category in self.states:
            for period in PERIODS:
                board = self.board(period, category)
                if board is not None:
                    held.update(self._keys(category, {period: board.snapshot_id}))
        return held

    @staticmethod
    def _keys(category: str, snapshot_ids: Mapping[str, int]) -> dict[str, int]:
        """Snapshot ids named ``period`` (overall) or ``category/period``."""
        prefix = "" if category == OVERALL else f"{category}/"
        return {f"{prefix}{period}": sid for period, sid in snapshot_ids.items()}

    def mark_failed(self, errors: Mapping[str, str], category: str = OVERALL) -> None:
        for period, error in errors.items():
            state = self.states[category][period]
            state.last_error = error[:500]
            state.consecutive_failures += 1

    async def record_failure(
        self, snapshot_ids: Mapping[str, int], error: str, started: float, category: str = OVERALL
    ) -> None:
        """A whole refresh failed: every board of the category is marked, and its rows."""
        self.mark_failed(dict.fromkeys(self.states[category], error), category)
        try:
            async with self._pool.acquire() as conn:
                for snapshot_id in snapshot_ids.values():
                    await queries.fail_snapshot(conn, snapshot_id, error, elapsed_ms(started))
        except Exception as exc:  # PostgreSQL is likely what failed: one line, no traceback
            log.warning(
                "could not record the failed %s refresh (%s): %s", category, failure_kind(exc), exc
            )
            return
        self._announce(self._keys(category, snapshot_ids))
