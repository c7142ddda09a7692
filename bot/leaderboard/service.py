"""The leaderboard: refreshed in the background, persisted, and served from memory.

A refresh fetches candidates for every period and both orderings, refreshes the score inputs
of the traders that need it, scores and ranks, writes every period's snapshot in one
transaction, and only then swaps the in-memory boards (bot/leaderboard/publish.py). A failed
period keeps its previous board and is recorded as FAILED; commands never wait on Polymarket
unless no board was ever stored. Category boards are refreshed on their own slower loop
(bot/leaderboard/categories.py) and read through the same methods.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import asyncpg

from bot.cache import HotCache, SingleFlight
from bot.events import BoardsPublished, EventBus, FollowAdded, TradesStored
from bot.failures import ExpectedFailure, failure_kind
from bot.leaderboard.boards import merge_candidates, page_of
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import OVERALL, PERIODS, BoardEntry, BoardPage, PeriodBoard, ScoreRecord
from bot.leaderboard.publish import BoardPublisher, Freshness, PeriodState
from bot.leaderboard.stats_store import StatsRefresh, TraderStatsStore
from bot.polymarket.data_api import ORDERS, DataAPI
from bot.polymarket.records import LeaderboardRow
from db import leaderboard_queries as queries

__all__ = ["Freshness", "LeaderboardService", "PeriodState", "RefreshReport"]

log = logging.getLogger(__name__)

PROGRESS_PUBLISH_SECONDS = 5.0  # while many traders' details load, boards are re-published
PROGRESSIVE_MIN_NEW = 20  # ... when at least this many traders have no details yet


@dataclass(frozen=True)
class RefreshReport:
    duration: float
    trader_count: int
    rows_written: int
    periods_ok: tuple[str, ...]
    periods_failed: dict[str, str] = field(default_factory=dict)
    details_fetched: int = 0
    details_failed: int = 0


class LeaderboardRefreshError(ExpectedFailure, RuntimeError):
    """Every period failed; the loop records it (one line) and backs off."""


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
        category_interval: float = 600.0,
        retention_days: float = 7.0,
        evidence: Evidence | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._api = data_api
        self.stats = stats
        self.candidates = candidates
        self.refresh_interval = refresh_interval
        self.category_interval = category_interval
        self._retention_days = retention_days
        self._clock = clock
        self.publisher = BoardPublisher(
            pool,
            cache,
            stats,
            evidence=evidence or Evidence(),
            clock=clock,
            announce=lambda ids: bus.publish(BoardsPublished(snapshot_ids=ids)),
        )
        self._flight: SingleFlight[str, RefreshReport] = SingleFlight()
        self.states: dict[str, PeriodState] = self.publisher.states[OVERALL]
        self.last_report: RefreshReport | None = None
        self.record: ScoreRecord | None = None  # the score's own record (bot/leaderboard/record.py)
        self.overall_wallets: set[str] = set()  # the last overall refresh's candidates
        self.category_wallets: set[str] = set()  # kept by the category boards' refresh
        self._standings: dict[str, tuple[PeriodBoard, dict[str, tuple[int, BoardEntry]]]] = {}
        bus.subscribe(TradesStored, self._expire_traders)
        bus.subscribe(FollowAdded, self._expire_followed)

    # ---- reading (the hot path) -------------------------------------------------------------

    @property
    def evidence(self) -> Evidence:
        return self.publisher.evidence

    def board(self, period: str, category: str = OVERALL) -> PeriodBoard | None:
        return self.publisher.board(period, category)

    def page(
        self, period: str, metric: str, page: int, category: str = OVERALL
    ) -> BoardPage | None:
        board = self.board(period, category)
        if board is None:
            return None
        return page_of(board, metric, page, record=self.record, evidence=self.evidence)

    def entry(self, wallet: str, period: str = "week") -> tuple[int, BoardEntry] | None:
        """(rank by copy score, entry) of a scored trader in a period; indexed once per board."""
        board = self.board(period)
        if board is None:
            return None
        cached = self._standings.get(period)
        if cached is None or cached[0] is not board:
            ranks = {e.wallet: (i, e) for i, e in enumerate(board.by_metric["score"], 1)}
            cached = self._standings[period] = (board, ranks)
        return cached[1].get(wallet)

    def rank(self, wallet: str, period: str, metric: str) -> tuple[int, BoardEntry] | None:
        """(rank, entry) of a trader in any ranking of an overall board (a scan: for /trader)."""
        board = self.board(period)
        for rank, entry in enumerate(board.by_metric.get(metric, ()) if board else (), 1):
            if entry.wallet == wallet:
                return rank, entry
        return None

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

    def known_traders(self) -> Mapping[str, str]:
        """wallet -> username of every ranked trader (for autocomplete): prebuilt when the
        boards are swapped in (bot/leaderboard/publish.py), read-only."""
        return self.publisher.known_traders()

    def freshness(self, period: str, category: str = OVERALL) -> Freshness:
        interval = self.refresh_interval if category == OVERALL else self.category_interval
        return self.publisher.freshness(period, category, interval)

    # ---- start-up -----------------------------------------------------------------------------

    async def warm(self) -> int:
        """Load the latest stored boards and trader stats; returns how many periods were loaded."""
        periods = await self.reload()
        loaded = await self.stats.load()
        log.info("warm start: %d periods, %d trader stats from PostgreSQL", periods, loaded)
        return periods

    async def reload(self) -> int:
        """Boards and refresh states from PostgreSQL: at start, and on a process that is not the
        leader whenever the leader announces new boards (:class:`BoardsPublished`). Returns how
        many overall periods have a board."""
        await self.publisher.load()
        # the traders of the stored boards keep their details until their boards are refreshed
        self.overall_wallets = self.publisher.wallets(categories=False)
        self.category_wallets = self.publisher.wallets(categories=True)
        return sum(1 for period in PERIODS if self.board(period) is not None)

    async def recover_interrupted(self) -> None:
        """On becoming the leader: a refresh the previous leader left IN_PROGRESS (it crashed
        or lost its lock mid-refresh) is recorded as FAILED."""
        async with self._pool.acquire() as conn:
            await queries.mark_stale_in_progress(conn)

    async def wait_for_board(self, period: str, wait_seconds: float) -> PeriodBoard | None:
        """Only for a bot that never stored a board: join (or start) the refresh and wait for
        its first boards, which are published before the traders' details are loaded."""
        if (board := self.board(period)) is not None:
            return board
        refresh = asyncio.ensure_future(asyncio.shield(self.refresh()))
        refresh.add_done_callback(_log_failure)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while self.board(period) is None and not refresh.done() and loop.time() < deadline:
            await asyncio.wait({refresh}, timeout=0.1)
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
        snapshot_ids = await self.publisher.begin(PERIODS)
        try:
            report = await self._refresh_periods(snapshot_ids, started)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            await self.publisher.record_failure(snapshot_ids, error, started)
            raise
        if not report.periods_ok:
            errors = "; ".join(f"{p}: {e}" for p, e in report.periods_failed.items())
            raise LeaderboardRefreshError(f"every period failed: {errors}")
        return report

    async def _refresh_periods(self, snapshot_ids: dict[str, int], started: float) -> RefreshReport:
        """``snapshot_ids`` is updated in place, so a failure marks the rows actually open."""
        candidates, failed = await self._fetch_candidates()
        wallets = {row.wallet for rows in candidates.values() for row in rows}
        due = self.stats.due(wallets)
        new = sum(1 for wallet in due if wallet not in self.stats.stats)
        rows_written = 0
        failures_to_record = failed
        if candidates and (
            new >= PROGRESSIVE_MIN_NEW or any(self.board(p) is None for p in candidates)
        ):
            # Many traders without details (a first start): publish the boards now (pnl and
            # volume rankings complete, those traders counted as pending in the score ranking)
            # and again every few seconds while their details load, rather than make
            # /leaderboard wait for hundreds of detail fetches.
            rows_written, details = await self._refresh_details_progressively(
                due, candidates, failed, snapshot_ids, started
            )
            failures_to_record = {}  # recorded with the first boards
        else:
            details = await self.stats.refresh(due)
        self.overall_wallets = wallets
        self.stats.retain(wallets | self.category_wallets)
        rows_written += await self.publisher.publish(
            candidates, failures_to_record, snapshot_ids, started
        )
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

    async def _refresh_details_progressively(
        self,
        due: list[str],
        candidates: dict[str, list[LeaderboardRow]],
        failed: dict[str, str],
        snapshot_ids: dict[str, int],
        started: float,
    ) -> tuple[int, StatsRefresh]:
        """Fetch details while publishing the boards every PROGRESS_PUBLISH_SECONDS; the
        caller publishes the final boards into the (fresh) ``snapshot_ids``."""
        rows_written = await self.publisher.publish(candidates, failed, snapshot_ids, started)
        loading = asyncio.ensure_future(self.stats.refresh(due))
        try:
            while True:
                snapshot_ids.clear()
                snapshot_ids.update(await self.publisher.begin(candidates))
                done, _ = await asyncio.wait({loading}, timeout=PROGRESS_PUBLISH_SECONDS)
                if done:
                    return rows_written, loading.result()
                rows_written += await self.publisher.publish(candidates, {}, snapshot_ids, started)
        finally:
            if not loading.done():
                loading.cancel()

    async def _fetch_candidates(self) -> tuple[dict[str, list[LeaderboardRow]], dict[str, str]]:
        candidates, failed = await fetch_candidates(self._api, self.candidates)
        return drop_empty_boards(candidates, failed, lambda period: self.has_rows(period))

    def has_rows(self, period: str, category: str = OVERALL) -> bool:
        """Whether the period's board in memory ranks anyone (an empty answer would wipe it)."""
        board = self.board(period, category)
        return board is not None and bool(board.by_metric["pnl"])

    async def _prune(self) -> None:
        try:
            async with self._pool.acquire() as conn:
                await queries.prune(conn, self._retention_days)
        except Exception as exc:
            log.warning("pruning old leaderboard snapshots failed (%s): %s", failure_kind(exc), exc)

    async def close(self) -> None:
        """Cancel a refresh in flight (it is shielded from its callers' cancellation)."""
        await self._flight.close()

    # ---- events ---------------------------------------------------------------------------------

    async def _expire_traders(self, event: TradesStored) -> None:
        """New trades: their traders' score inputs are re-fetched next refresh (once per
        distinct wallet of the batch)."""
        for wallet in {wallet.lower() for wallet in event.wallets}:
            self.stats.expire(wallet)

    async def _expire_followed(self, event: FollowAdded) -> None:
        """A new follow: that trader's score inputs are re-fetched next refresh."""
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


def _log_failure(refresh: asyncio.Future[RefreshReport]) -> None:
    """A refresh joined only to wait for a first board may fail after the wait ended."""
    if not refresh.cancelled() and refresh.exception() is not None:
        log.warning("the refresh a first /leaderboard waited for failed: %s", refresh.exception())


def drop_empty_boards(
    candidates: dict[str, list[LeaderboardRow]],
    failed: dict[str, str],
    had_rows: Callable[[str], bool],
) -> tuple[dict[str, list[LeaderboardRow]], dict[str, str]]:
    """Valid JSON with nothing usable where there was a board is a failed period (the board is
    kept and shown as stale), never "0 traders" stored as a success."""
    for period in [p for p, rows in candidates.items() if not rows and had_rows(p)]:
        del candidates[period]
        failed[period] = "Polymarket answered an empty leaderboard; kept the previous one"
    return candidates, failed


async def fetch_candidates(
    api: DataAPI, per_order: int, category: str = OVERALL
) -> tuple[dict[str, list[LeaderboardRow]], dict[str, str]]:
    """Every period's candidates (both orderings merged) of one category, and the periods
    that failed (with why)."""
    jobs = [(period, order) for period in PERIODS for order in ORDERS]
    results = await asyncio.gather(
        *(api.leaderboard(period, order, per_order, category=category) for period, order in jobs),
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
