"""Category leaderboards (politics, sports, crypto, ...): their own slower loop, on a budget.

Every ``CATEGORY_REFRESH_SECONDS`` (default 600) one pass fetches the candidates of every
category, period and ordering (10 x 4 x 2 leaderboard requests of ``CATEGORY_CANDIDATES`` rows,
two pages each: 160 requests, against the Data API's 1,000 per 10 s), then the details of at
most ``DETAIL_BUDGET`` (300) traders with none or the oldest (new ones first, best ranked
first: 3 calls each, 900 calls per pass: 0.5 a second against ``/positions``' 15), and
publishes every category's boards the way the overall ones are (written, then swapped; a
failed category keeps its previous boards). Category traders whose details are not loaded yet
are counted as pending on their boards until a later pass reaches them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from bot.leaderboard.models import PERIODS
from bot.leaderboard.service import LeaderboardService, drop_empty_boards, fetch_candidates
from bot.polymarket.data_api import DataAPI
from bot.polymarket.records import CATEGORIES, LeaderboardRow

log = logging.getLogger(__name__)

CATEGORY_CANDIDATES = 100  # rows per category, period and ordering
DETAIL_BUDGET = 300  # traders whose details one pass may fetch


class CategoryRefreshError(RuntimeError):
    """Every category failed; the loop records it and backs off."""


@dataclass(frozen=True)
class CategoryReport:
    duration: float
    boards: int
    trader_count: int
    details_fetched: int
    failed: dict[str, str] = field(default_factory=dict)  # category -> why (every period)


def by_best_rank(boards: Iterable[Sequence[LeaderboardRow]]) -> list[str]:
    """Wallets of several boards, each once, in rank order across the boards (every board's
    #1s, then every #2, ...): the order in which their details are worth fetching."""
    ordered: dict[str, None] = {}
    for rank_rows in zip_longest(*boards):
        for row in rank_rows:
            if row is not None:
                ordered.setdefault(row.wallet)
    return list(ordered)


def _had_rows(service: LeaderboardService, category: str, period: str) -> bool:
    return service.has_rows(period, category)


class CategoryBoards:
    """The category-leaderboards loop body (a PeriodicTask in bot/app.py)."""

    def __init__(
        self,
        service: LeaderboardService,
        data_api: DataAPI,
        *,
        candidates: int = CATEGORY_CANDIDATES,
        detail_budget: int = DETAIL_BUDGET,
    ) -> None:
        self._service = service
        self._api = data_api
        self.candidates = candidates
        self.detail_budget = detail_budget
        self.last_report: CategoryReport | None = None

    async def refresh(self) -> CategoryReport:
        started = time.perf_counter()
        service, stats = self._service, self._service.stats
        fetched = await asyncio.gather(
            *(fetch_candidates(self._api, self.candidates, category) for category in CATEGORIES)
        )
        wallets = by_best_rank(rows for candidates, _ in fetched for rows in candidates.values())
        details_fetched = 0
        if service.last_report is not None:  # the overall boards' first details come first
            # traders on the overall boards are kept fresh by the overall refresh
            own = [w for w in wallets if w not in service.overall_wallets]
            due = stats.due(own, budget=self.detail_budget)
            details_fetched = (await stats.refresh(due)).fetched
        service.category_wallets = set(wallets)
        publisher = service.publisher
        boards = 0
        failed: dict[str, str] = {}
        for category, (fresh, fetch_failures) in zip(CATEGORIES, fetched, strict=True):
            had_rows = functools.partial(_had_rows, service, category)
            candidates, failures = drop_empty_boards(fresh, fetch_failures, had_rows)
            snapshot_ids = await publisher.begin(PERIODS, category)
            await publisher.publish(candidates, failures, snapshot_ids, started, category)
            boards += len(candidates)
            if not candidates:
                failed[category] = "; ".join(f"{p}: {e}" for p, e in failures.items())
        report = CategoryReport(
            time.perf_counter() - started, boards, len(wallets), details_fetched, failed
        )
        self.last_report = report
        log.info(
            "category boards refreshed in %.2fs: %d boards, %d traders, %d details fetched",
            report.duration,
            boards,
            len(wallets),
            details_fetched,
        )
        if len(failed) == len(CATEGORIES):
            raise CategoryRefreshError(f"every category failed: {failed}")
        return report
