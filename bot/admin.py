"""What the admin commands do, without Discord: refresh on demand, and gather the status.

``/admin refresh`` names a typed target; each target maps to the services and loops it runs,
given here by the application (no lookup of loops by name). ``/admin status`` reads every
worker, cache and counter from memory; the one database read (alert counts) has a short
timeout so the status works when PostgreSQL does not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.cache import HotCache
from bot.leaderboard.service import LeaderboardService, PeriodState, RefreshReport
from bot.loops import PeriodicTask
from bot.markets.prices import PriceService
from bot.markets.service import MarketService
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.stream import StreamStats, TradeStream
from bot.trades.dispatcher import AlertDispatcher, DeliveryStats
from bot.trades.ingest import IngestStats, TradeIngest
from bot.trades.models import FailedAlert
from bot.trades.reconciler import Reconciler, ReconcileStats
from bot.workers import WorkerRegistry, WorkerStatus

log = logging.getLogger(__name__)

STATUS_DB_TIMEOUT = 1.0


class RefreshTarget(StrEnum):
    LEADERBOARD = "leaderboard"
    TRADERS = "traders"
    MARKETS = "markets"
    ALL = "all"

    @property
    def markets(self) -> bool:
        return self in (RefreshTarget.MARKETS, RefreshTarget.ALL)

    @property
    def traders(self) -> bool:
        return self in (RefreshTarget.TRADERS, RefreshTarget.ALL)


@dataclass(frozen=True)
class RefreshOutcome:
    report: RefreshReport
    joined: bool  # joined a refresh that was already running
    waited: float
    markets_outcome: str | None = None  # the markets loop's outcome, when it ran
    positions_outcome: str | None = None  # the trader-positions loop's, when it ran


@dataclass(frozen=True)
class StatusReport:
    workers: list[WorkerStatus]
    cache: list[dict[str, Any]]
    calls: dict[str, int]
    failures: dict[str, int]
    calls_since: float
    periods: dict[str, PeriodState]
    stream: StreamStats
    ingest: IngestStats
    delivery: DeliveryStats
    ingest_queue: int
    sending_channels: int
    alert_counts: dict[str, int] = field(default_factory=dict)  # empty when unavailable
    reconcile: ReconcileStats | None = None
    reconcile_interval: float = 0.0
    failed_alerts: list[FailedAlert] = field(default_factory=list)  # latest, with reasons


class AdminService:
    def __init__(
        self,
        *,
        leaderboard: LeaderboardService,
        markets: MarketService,
        prices: PriceService,
        markets_loop: PeriodicTask,
        positions_loop: PeriodicTask,
        workers: WorkerRegistry,
        cache: HotCache,
        http: PolymarketHTTP,
    ) -> None:
        self._leaderboard = leaderboard
        self._markets = markets
        self._prices = prices
        self._markets_loop = markets_loop
        self._positions_loop = positions_loop
        self._workers = workers
        self._cache = cache
        self._http = http

    async def refresh(self, target: RefreshTarget) -> RefreshOutcome:
        """Run the target's loops now, then the leaderboard (joining a refresh in flight).
        Raises when the leaderboard refresh fails (the previous board stays served)."""
        markets_outcome = positions_outcome = None
        if target.markets:
            self._markets.forget_markets()
            self._prices.forget_prices()
            await self._markets_loop.run_once()
            markets_outcome = self._markets_loop.loop_status.last_outcome
        if target.traders:
            await self._positions_loop.run_once()
            positions_outcome = self._positions_loop.loop_status.last_outcome
        started = time.perf_counter()
        report, joined = await self._leaderboard.request_refresh(refetch_details=target.traders)
        return RefreshOutcome(
            report=report,
            joined=joined,
            waited=time.perf_counter() - started,
            markets_outcome=markets_outcome,
            positions_outcome=positions_outcome,
        )

    async def status(self) -> StatusReport:
        # the trade path is built after the Discord client (it posts through it): find it here
        alerts = self._workers.find(AlertDispatcher)
        ingest = self._workers.find(TradeIngest)
        reconciler = self._workers.find(Reconciler)
        try:
            counts = await asyncio.wait_for(alerts.pending_counts(), STATUS_DB_TIMEOUT)
            failed = await asyncio.wait_for(alerts.recent_failures(), STATUS_DB_TIMEOUT)
        except Exception as exc:  # the status must work when the database does not
            log.warning("alert counts unavailable: %s", exc)
            counts, failed = {}, []
        return StatusReport(
            workers=self._workers.statuses(),
            cache=self._cache.describe(),
            calls=dict(self._http.calls),
            failures=dict(self._http.failures),
            calls_since=self._http.started_at,
            periods=dict(self._leaderboard.states),
            stream=self._workers.find(TradeStream).stats,
            ingest=ingest.stats,
            delivery=alerts.stats,
            ingest_queue=ingest.queue_depth(),
            sending_channels=alerts.active_channels,
            alert_counts=counts,
            reconcile=reconciler.stats,
            reconcile_interval=reconciler.interval,
            failed_alerts=failed,
        )
