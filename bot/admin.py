"""What the admin commands do, without Discord: refresh on demand, and gather the status.

``/admin refresh`` names a typed target; each target maps to the services and loops it runs,
given here by the application (no lookup of loops by name). ``/admin status`` reads every
worker, cache and counter from memory; its database reads (alert counts and failures) go
through the commands' shared guard, so the status answers in time when PostgreSQL does not.

The status opens with a verdict (healthy, degraded, failing, and why), decided by ``verdict``:
a pure function over the report made of small rules, so what counts as "failing" is written
down and tested. To add a figure: a field on ``StatusReport`` (filled in ``status``) and one
line in ``bot/render/status.py``'s FIGURES; to let it move the verdict, one rule in RULES.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Any

from bot.cache import HotCache
from bot.cluster.models import ClusterView
from bot.database import DatabaseGuard
from bot.leaderboard.service import LeaderboardService, PeriodState, RefreshReport
from bot.loops import PeriodicTask
from bot.markets.service import MarketService
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.stream import StreamStats, TradeStream
from bot.trades.dispatcher import AlertDispatcher, DeliveryStats
from bot.trades.ingest import IngestStats, TradeIngest
from bot.trades.models import FailedAlert
from bot.trades.reconciler import Reconciler, ReconcileStats
from bot.workers import LoopStatus, WorkerRegistry, WorkerStatus

log = logging.getLogger(__name__)

FAILING_AFTER = 3  # failed runs in a row that turn "degraded" into "failing"
SILENT_STREAM = 60.0  # seconds without a frame on a connected stream before it is a problem
ALERT_BACKLOG = 100  # alerts waiting to be sent before it is a problem
STREAM_MISSES = 5  # trades the connected stream never sent, in the last hour, before it is one
MISS_WINDOW = 3600.0


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


class RefreshQueued(Exception):
    """Asked on a process that is not the leader, and the leader did not answer in time: the
    refresh runs as soon as a leader takes it (a new leader refreshes when elected)."""


@dataclass(frozen=True)
class ClusterHooks:
    """How the admin commands reach the rest of a cluster; the defaults are a lone process."""

    is_leader: Callable[[], bool] = lambda: True
    refresh_on_leader: Callable[[RefreshTarget], Awaitable[RefreshOutcome]] | None = None
    markets_forgotten: Callable[[], None] = lambda: None  # tell the other processes
    view: Callable[[], ClusterView | None] = lambda: None


@dataclass(frozen=True)
class StatusReport:
    """Everything /admin status shows, read at ``now``; plain values, so the verdict and the
    embed are pure functions of it."""

    now: float
    workers: list[WorkerStatus]
    cache: list[dict[str, Any]]
    calls: dict[str, int]  # by route (``route_of``), never per market or wallet
    failures: dict[str, int]
    calls_since: float
    periods: dict[str, PeriodState]
    stream: StreamStats
    ingest: IngestStats
    delivery: DeliveryStats
    ingest_queue: int
    sending_channels: int
    alert_counts: dict[str, int] = field(default_factory=dict)  # empty when unavailable
    database_ok: bool = True  # PostgreSQL answered the status's one query in time
    signals: dict[str, int] = field(default_factory=dict)  # SignalService.figures()
    # upstream rows and frames refused at the parser edge, by kind (price, timestamp, ...)
    rejections: dict[str, int] = field(default_factory=dict)
    # commands' database work that timed out or failed (answered from memory), and whether
    # PostgreSQL is failing commands right now
    database_failures: int = 0
    database_unavailable: bool = False
    cluster: ClusterView | None = None  # every process sharing the database, from heartbeats
    reconcile: ReconcileStats | None = None
    reconcile_interval: float = 0.0
    failed_alerts: list[FailedAlert] = field(default_factory=list)  # latest, with reasons


class Health(IntEnum):
    """Ordered: the verdict is the worst finding."""

    HEALTHY = 0
    DEGRADED = 1
    FAILING = 2


@dataclass(frozen=True)
class Finding:
    health: Health
    reason: str


@dataclass(frozen=True)
class Verdict:
    health: Health
    reasons: tuple[str, ...]  # worst first


def database_rule(report: StatusReport) -> Iterable[Finding]:
    if not report.database_ok:
        yield Finding(Health.FAILING, "PostgreSQL did not answer")


def worker_rule(report: StatusReport) -> Iterable[Finding]:
    """A loop failing a few runs in a row is failing; once is degraded. A worker that should
    run here but stopped is failing. (The error itself is on the loop's own line.)"""
    for worker in report.workers:
        loop = worker.loop
        if loop is not None and loop.consecutive_failures:
            failures = loop.consecutive_failures
            health = Health.FAILING if failures >= FAILING_AFTER else Health.DEGRADED
            yield Finding(health, f"{worker.name} failed {failures}× in a row")
        elif not worker.running:
            yield Finding(Health.FAILING, f"{worker.name} is not running")


def leaderboard_rule(report: StatusReport) -> Iterable[Finding]:
    """Stale boards are the loop's finding; no board at all for a period is failing."""
    missing = [p for p, s in report.periods.items() if s.last_success_at is None]
    if missing and any(s.consecutive_failures for s in report.periods.values()):
        yield Finding(Health.FAILING, f"no leaderboard yet for {', '.join(missing)}")


def stream_rule(report: StatusReport) -> Iterable[Finding]:
    stream = report.stream
    if not stream.connected:
        yield Finding(Health.DEGRADED, "live trade stream disconnected")
    elif stream.last_message_at and report.now - stream.last_message_at > SILENT_STREAM:
        yield Finding(Health.DEGRADED, "live trade stream silent")


def alerts_rule(report: StatusReport) -> Iterable[Finding]:
    pending = report.alert_counts.get("PENDING", 0) + report.ingest_queue
    if pending > ALERT_BACKLOG:
        yield Finding(Health.DEGRADED, f"{pending:,} alerts and trades waiting")


def reconcile_rule(report: StatusReport) -> Iterable[Finding]:
    """A stream that keeps missing trades while connected is degraded even though every miss
    was found and alerted late: its alerts are no longer live. A few misses an hour is noise."""
    if report.reconcile is None:
        return
    missed = report.reconcile.misses_since(report.now - MISS_WINDOW)
    if missed >= STREAM_MISSES:
        yield Finding(
            Health.DEGRADED, f"live trade stream missed {missed:,} trades in the last hour"
        )


RULES: tuple[Callable[[StatusReport], Iterable[Finding]], ...] = (
    database_rule,
    worker_rule,
    leaderboard_rule,
    stream_rule,
    alerts_rule,
    reconcile_rule,
)


def verdict(report: StatusReport) -> Verdict:
    """Healthy, degraded or failing, with the reasons, worst first."""
    findings = sorted(
        (f for rule in RULES for f in rule(report)), key=lambda f: f.health, reverse=True
    )
    health = findings[0].health if findings else Health.HEALTHY
    return Verdict(health, tuple(f.reason for f in findings))


def with_periods(loop: LoopStatus, periods: Mapping[str, PeriodState]) -> LoopStatus:
    """The leaderboard loop as its periods tell it: a run in which a period failed is not a
    clean "ok", and its failures in a row are the worst period's, so the loop's line and the
    periods' lines never disagree."""
    failing = {p: s for p, s in periods.items() if s.consecutive_failures}
    if not failing:
        return loop
    worst = max(s.consecutive_failures for s in failing.values())
    outcome = loop.last_outcome
    if outcome == "ok":
        outcome = f"partial: {', '.join(failing)} failed"
    error = loop.last_error or next((s.last_error for s in failing.values() if s.last_error), None)
    return replace(
        loop,
        consecutive_failures=max(loop.consecutive_failures, worst),
        last_outcome=outcome,
        last_error=error,
    )


_ROUTE_ID = re.compile(r"^(0x[0-9a-fA-F]+|\d+)$")


def route_of(endpoint: str) -> str:
    """``gamma:/markets/slug/will-it-rain`` -> ``gamma:/markets/slug/{slug}``: calls are counted
    per path, and a path may name a market, an event or a wallet."""
    host, _, path = endpoint.partition(":")
    parts = path.split("/")
    for index, part in enumerate(parts):
        if index > 0 and parts[index - 1] == "slug":
            parts[index] = "{slug}"
        elif _ROUTE_ID.match(part):
            parts[index] = "{id}"
    return f"{host}:{'/'.join(parts)}"


def by_route(counts: Mapping[str, int]) -> dict[str, int]:
    grouped: Counter[str] = Counter()
    for endpoint, n in counts.items():
        grouped[route_of(endpoint)] += n
    return dict(grouped)


class AdminService:
    def __init__(
        self,
        *,
        leaderboard: LeaderboardService,
        markets: MarketService,
        leaderboard_loop: PeriodicTask,
        markets_loop: PeriodicTask,
        positions_loop: PeriodicTask,
        workers: WorkerRegistry,
        cache: HotCache,
        http: PolymarketHTTP,
        signal_figures: Callable[[], dict[str, int]] | None = None,
        database: DatabaseGuard,
        cluster: ClusterHooks | None = None,
    ) -> None:
        self._cluster = cluster or ClusterHooks()
        self._leaderboard = leaderboard
        self._markets = markets
        self._leaderboard_loop = leaderboard_loop
        self._markets_loop = markets_loop
        self._positions_loop = positions_loop
        self._workers = workers
        self._cache = cache
        self._http = http
        self._signal_figures = signal_figures
        self._database = database

    async def refresh(self, target: RefreshTarget) -> RefreshOutcome:
        """Run the target's loops now, then the leaderboard (joining a refresh in flight).
        Raises when the leaderboard refresh fails (the previous board stays served). On a
        process that is not the leader the leader runs it (or :class:`RefreshQueued`)."""
        if self._cluster.refresh_on_leader is not None and not self._cluster.is_leader():
            return await self._cluster.refresh_on_leader(target)
        markets_outcome = positions_outcome = None
        if target.markets:
            self._markets.forget_all()
            self._cluster.markets_forgotten()
            await self._markets_loop.run_once()
            markets_outcome = self._markets_loop.loop_status.last_outcome
        started = time.perf_counter()
        report, joined = await self._leaderboard.request_refresh(refetch_details=target.traders)
        waited = time.perf_counter() - started
        if target.traders:  # after the re-fetch, which brought most traders' positions already
            await self._positions_loop.run_once()
            positions_outcome = self._positions_loop.loop_status.last_outcome
        return RefreshOutcome(
            report=report,
            joined=joined,
            waited=waited,
            markets_outcome=markets_outcome,
            positions_outcome=positions_outcome,
        )

    async def status(self) -> StatusReport:
        # the trade path is built after the Discord client (it posts through it): find it here
        alerts = self._workers.find(AlertDispatcher)
        ingest = self._workers.find(TradeIngest)
        database_ok = True
        reconciler = self._workers.find(Reconciler)

        async def alert_figures() -> tuple[dict[str, int], list[FailedAlert]]:
            return await alerts.pending_counts(), await alerts.recent_failures()

        try:
            counts, failed = await self._database.run(alert_figures, "/admin status")
        except Exception as exc:  # the status must work when the database does not
            log.warning("alert counts unavailable: %s", exc)
            counts, failed, database_ok = {}, [], False
        periods = dict(self._leaderboard.states)
        return StatusReport(
            now=time.time(),
            workers=[self._consistent(s, periods) for s in self._workers.statuses()],
            cache=self._cache.describe(),
            calls=by_route(self._http.calls),
            failures=by_route(self._http.failures),
            calls_since=self._http.started_at,
            periods=periods,
            stream=self._workers.find(TradeStream).stats,
            ingest=ingest.stats,
            delivery=alerts.stats,
            ingest_queue=ingest.queue_depth(),
            sending_channels=alerts.active_channels,
            alert_counts=counts,
            database_ok=database_ok,
            signals=self._signal_figures() if self._signal_figures else {},
            rejections=dict(self._http.rejections.counts),
            database_failures=self._database.failures,
            database_unavailable=self._database.unavailable,
            cluster=self._cluster.view(),
            reconcile=reconciler.stats,
            reconcile_interval=reconciler.interval,
            failed_alerts=failed,
        )

    def _consistent(self, status: WorkerStatus, periods: Mapping[str, PeriodState]) -> WorkerStatus:
        if status.name != self._leaderboard_loop.name or status.loop is None:
            return status
        return replace(status, loop=with_periods(status.loop, periods))
