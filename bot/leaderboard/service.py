"""The leaderboard: refreshed in the background, persisted, and served from memory.

A refresh fetches candidates for every period and both orderings, refreshes the score inputs
of the traders that need it, scores and ranks, writes every period's snapshot in one
transaction, and only then swaps the in-memory boards. A failed period keeps its previous
board and is recorded as FAILED; commands never wait on Polymarket unless no board was ever
stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from bot.cache import HotCache, SingleFlight
from bot.events import BoardsPublished, EventBus, FollowAdded, TradeStored
from bot.leaderboard.boards import build_board, merge_candidates, page_of
from bot.leaderboard.models import PERIODS, BoardEntry, BoardPage, PeriodBoard
from bot.leaderboard.scoring import TrackRecord, population_win_rate
from bot.leaderboard.stats_store import TraderStatsStore
from bot.polymarket.data_api import ORDERS, DataAPI
from bot.polymarket.records import LeaderboardRow
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


@dataclass(frozen=True)
class RefreshReport:
    duration: float
    trader_count: int
    rows_written: int
    periods_ok: tuple[str, ...]
    periods_failed: dict[str, str] = field(default_factory=dict)
    details_fetched: int = 0
    details_failed: int = 0


class LeaderboardRefreshError(RuntimeError):
    """Every period failed; the loop records it and backs off."""


def slot_name(period: str) -> str:
    return f"leaderboard:{period}"


class LeaderboardService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        data_api: DataAPI,
        stats: TraderStatsStore,
        cache: HotCache,
        bus: EventBus,
        *,
        candidates: int = 200,
        refresh_interval: float = 60.0,
        retention_days: float = 7.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._api = data_api
        self.stats = stats
        self._cache = cache
        self._bus = bus
        self.candidates = candidates
        self.refresh_interval = refresh_interval
        self._retention_days = retention_days
        self._clock = clock
        self._flight: SingleFlight[str, RefreshReport] = SingleFlight()
        self.states: dict[str, PeriodState] = {period: PeriodState() for period in PERIODS}
        self.last_report: RefreshReport | None = None
        self._standings: dict[str, tuple[PeriodBoard, dict[str, tuple[int, BoardEntry]]]] = {}
        bus.subscribe(TradeStored, self._expire_trader)
        bus.subscribe(FollowAdded, self._expire_trader)

    # ---- reading (the hot path) -------------------------------------------------------------

    def board(self, period: str) -> PeriodBoard | None:
        current = self._cache.snapshot(slot_name(period)).get()
        return None if current is None else current.value

    def page(self, period: str, metric: str, page: int) -> BoardPage | None:
        board = self.board(period)
        return None if board is None else page_of(board, metric, page)

    def entry(self, wallet: str, period: str = "week") -> tuple[int, BoardEntry] | None:
        """(rank by copy score, entry) of a trader in a period; indexed once per board."""
        board = self.board(period)
        if board is None:
            return None
        cached = self._standings.get(period)
        if cached is None or cached[0] is not board:
            ranks = {e.wallet: (i, e) for i, e in enumerate(board.by_metric["score"], 1)}
            cached = self._standings[period] = (board, ranks)
        return cached[1].get(wallet)

    def standing(self, wallet: str, period: str = "week") -> tuple[int, float] | None:
        """(rank by copy score, score), for alerts."""
        found = self.entry(wallet, period)
        return None if found is None else (found[0], found[1].score)

    def find_wallet(self, name: str) -> str | None:
        """A username known from the leaderboard -> its wallet (case-insensitive)."""
        wanted = name.strip().lower()
        for period in ("all", "month", "week", "day"):
            board = self.board(period)
            for entry in board.by_metric["pnl"] if board else ():
                if entry.user_name.lower() == wanted:
                    return entry.wallet
        return None

    def known_traders(self) -> dict[str, str]:
        """wallet -> username of every ranked trader (for autocomplete)."""
        names: dict[str, str] = {}
        for period in ("all", "month", "week", "day"):
            board = self.board(period)
            for entry in board.by_metric["pnl"] if board else ():
                names.setdefault(entry.wallet, entry.user_name)
        return names

    def freshness(self, period: str) -> Freshness:
        board = self.board(period)
        state = self.states[period]
        since = board.updated_at if board is not None else None
        if state.consecutive_failures > 0:
            return Freshness(True, since, state.last_error or "the last refresh failed")
        if since is not None and self._clock() - since > 2 * self.refresh_interval:
            return Freshness(True, since, "no refresh has completed recently")
        return Freshness(False, since, None)

    # ---- start-up -----------------------------------------------------------------------------

    async def warm(self) -> int:
        """Load the latest stored boards and trader stats; returns how many periods were loaded."""
        loaded = await self.reload()
        stats = await self.stats.load()
        log.info("warm start: %d periods, %d trader stats from PostgreSQL", loaded, stats)
        return loaded

    async def reload(self) -> int:
        """Boards and refresh states from PostgreSQL: at start, and on a process that is not the
        leader whenever the leader announces new boards (:class:`BoardsPublished`)."""
        async with self._pool.acquire() as conn:
            boards = await queries.load_latest_boards(conn)
            last = await queries.last_refresh_states(conn)
        for period, board in boards.items():
            held = self.board(period)
            if held is None or held.snapshot_id != board.snapshot_id:
                self._cache.snapshot(slot_name(period)).swap(board, updated_at=board.updated_at)
            self.states[period].last_success_at = board.updated_at
        for period, snapshot in last.items():
            if period in self.states and snapshot.status != "IN_PROGRESS":
                state = self.states[period]
                failed = snapshot.status == "FAILED"
                state.consecutive_failures = max(1, state.consecutive_failures) if failed else 0
                state.last_error = snapshot.error if failed else None
        return len(boards)

    async def recover_interrupted(self) -> None:
        """On becoming the leader: a refresh the previous leader left IN_PROGRESS (it crashed
        or lost its lock mid-refresh) is recorded as FAILED."""
        async with self._pool.acquire() as conn:
            await queries.mark_stale_in_progress(conn)

    async def wait_for_board(self, period: str, wait_seconds: float) -> PeriodBoard | None:
        """Only for a bot that never stored a board: join (or start) the refresh and wait."""
        if (board := self.board(period)) is not None:
            return board
        try:
            await asyncio.wait_for(asyncio.shield(self.refresh()), timeout=wait_seconds)
        except Exception as exc:
            log.warning("waiting for a first %s board: %s", period, exc)
        return self.board(period)

    # ---- refreshing -----------------------------------------------------------------------------

    @property
    def refreshing(self) -> bool:
        return self._flight.in_flight("refresh")

    async def refresh(self) -> RefreshReport:
        """Refresh all periods; a refresh already running is joined, never doubled."""
        return await self._flight.run("refresh", self._refresh)

    async def _refresh(self) -> RefreshReport:
        started = time.perf_counter()
        async with self._pool.acquire() as conn:
            snapshot_ids = await queries.begin_snapshots(conn, PERIODS)
        try:
            report = await self._refresh_periods(snapshot_ids, started)
        except Exception as exc:
            await self._record_failure(snapshot_ids, f"{type(exc).__name__}: {exc}", started)
            raise
        if not report.periods_ok:
            errors = "; ".join(f"{p}: {e}" for p, e in report.periods_failed.items())
            raise LeaderboardRefreshError(f"every period failed: {errors}")
        return report

    async def _record_failure(
        self, snapshot_ids: dict[str, int], error: str, started: float
    ) -> None:
        duration_ms = int((time.perf_counter() - started) * 1000)
        self._mark_failed(dict.fromkeys(self.states, error))
        try:
            async with self._pool.acquire() as conn:
                for snapshot_id in snapshot_ids.values():
                    await queries.fail_snapshot(conn, snapshot_id, error, duration_ms)
        except Exception:
            log.exception("could not record the failed refresh")
            return
        self._bus.publish(BoardsPublished(snapshot_ids=dict(snapshot_ids)))

    def _mark_failed(self, errors: dict[str, str]) -> None:
        for period, error in errors.items():
            state = self.states[period]
            state.last_error = error[:500]
            state.consecutive_failures += 1

    async def _refresh_periods(self, snapshot_ids: dict[str, int], started: float) -> RefreshReport:
        """``snapshot_ids`` is updated in place, so a failure marks the rows actually open."""
        candidates, failed = await self._fetch_candidates()
        wallets = {row.wallet for rows in candidates.values() for row in rows}
        due = self.stats.due(wallets)
        rows_written = 0
        failures_to_record = failed
        if due and any(self.board(period) is None for period in candidates):
            # First boards ever: publish them scored from PnL and volume alone (marked partial)
            # rather than make the first /leaderboard wait for hundreds of detail fetches.
            rows_written += await self._publish(candidates, failed, snapshot_ids, started)
            async with self._pool.acquire() as conn:
                snapshot_ids.clear()
                snapshot_ids.update(await queries.begin_snapshots(conn, list(candidates)))
            failures_to_record = {}  # recorded with the early boards
        details = await self.stats.refresh(due)
        self.stats.retain(wallets)
        rows_written += await self._publish(candidates, failures_to_record, snapshot_ids, started)
        report = RefreshReport(
            duration=time.perf_counter() - started,
            trader_count=len(wallets),
            rows_written=rows_written,
            periods_ok=tuple(candidates),
            periods_failed=failed,
            details_fetched=details.fetched,
            details_failed=details.failed,
        )
        self.last_report = report
        await self._prune()
        log.info(
            "leaderboard refreshed in %.2fs: %d traders, %d rows, failed periods: %s",
            report.duration,
            report.trader_count,
            rows_written,
            ", ".join(failed) or "none",
        )
        return report

    async def _publish(
        self,
        candidates: dict[str, list[LeaderboardRow]],
        failed: dict[str, str],
        snapshot_ids: dict[str, int],
        started: float,
    ) -> int:
        """Score, write every board in one transaction, then swap memory; returns rows written."""
        now = self._clock()
        prior = population_win_rate(self.stats.stats.values())
        tracks: dict[str, TrackRecord] = {}  # shared by the periods: computed once per trader
        boards = [
            build_board(
                period,
                rows,
                self.stats.stats,
                now=now,
                prior_win_rate=prior,
                snapshot_id=snapshot_ids[period],
                tracks=tracks,
            )
            for period, rows in candidates.items()
        ]
        duration_ms = int((time.perf_counter() - started) * 1000)
        async with self._pool.acquire() as conn, conn.transaction():
            # one transaction: PostgreSQL never has the boards without the failed periods' rows
            rows_written = await queries.write_boards(conn, boards, duration_ms)
            for period, error in failed.items():
                await queries.fail_snapshot(conn, snapshot_ids[period], error, duration_ms)
        # PostgreSQL has the boards: now swap memory, so a restart never knows less than we do.
        for board in boards:
            self._cache.snapshot(slot_name(board.period)).swap(board, updated_at=now)
            state = self.states[board.period]
            state.last_success_at = now
            state.last_error = None
            state.consecutive_failures = 0
        self._mark_failed(failed)
        self._bus.publish(BoardsPublished(snapshot_ids=dict(snapshot_ids)))
        return rows_written

    async def _fetch_candidates(self) -> tuple[dict[str, list[LeaderboardRow]], dict[str, str]]:
        jobs = [(period, order) for period in PERIODS for order in ORDERS]
        results = await asyncio.gather(
            *(self._api.leaderboard(period, order, self.candidates) for period, order in jobs),
            return_exceptions=True,
        )
        fetched: dict[str, list[list[LeaderboardRow]]] = {period: [] for period in PERIODS}
        failed: dict[str, str] = {}
        for (period, order), result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                failed.setdefault(period, f"{order}: {result}"[:500])
            else:
                fetched[period].append(result)
        candidates = {
            period: merge_candidates(*lists)
            for period, lists in fetched.items()
            if period not in failed
        }
        return candidates, failed

    async def _prune(self) -> None:
        try:
            async with self._pool.acquire() as conn:
                await queries.prune(conn, self._retention_days)
        except Exception:
            log.exception("pruning old leaderboard snapshots failed")

    async def close(self) -> None:
        """Cancel a refresh in flight (it is shielded from its callers' cancellation)."""
        await self._flight.close()

    # ---- events ---------------------------------------------------------------------------------

    async def _expire_trader(self, event: TradeStored | FollowAdded) -> None:
        """A trade or a new follow: that trader's score inputs are re-fetched next refresh."""
        self.stats.expire(event.wallet.lower())

    async def request_refresh(self, *, refetch_details: bool) -> tuple[RefreshReport, bool]:
        """An admin's refresh: (report, joined a refresh already running).

        Re-fetching every trader's details cannot ride on a refresh already running (it chose
        its traders before), so that case waits for it and then runs one more.
        """
        joined = self.refreshing
        if refetch_details:
            self.stats.expire_all()
            if joined:
                await self.refresh()
                joined = False
        return await self.refresh(), joined
