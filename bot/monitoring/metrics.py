"""``/metrics``: the bot's counters in Prometheus text, read from the existing stats at scrape time.

Why a custom collector: every part of the bot already keeps its own counters for
``/admin status`` (loops, upstream calls, caches, the stream, ingestion, delivery, orders, the
cluster). Reading them when Prometheus scrapes keeps one source of truth and adds no counter
calls to anyone's hot path. The one measurement no part keeps, trade → alert latency, is a
histogram observed through the callback the alert dispatcher calls after a confirmed send.

Each process has its own registry (no global state): two applications in one test process
never share metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.cache import HotCache
from bot.cluster.bridge import BridgeStats
from bot.cluster.election import ElectionStats
from bot.cluster.membership import Membership
from bot.copytrading.models import OrderStats
from bot.memory import rss_megabytes
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.stream import StreamStats
from bot.trades.cards import AlertCard
from bot.trades.dispatcher import DeliveryStats
from bot.trades.ingest import IngestStats
from bot.trades.reconciler import ReconcileStats
from bot.workers import WorkerRegistry

log = logging.getLogger(__name__)

Metric = CounterMetricFamily | GaugeMetricFamily
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class Sources:
    """Where the figures are read from (the application's own objects)."""

    workers: WorkerRegistry
    http: PolymarketHTTP
    cache: HotCache
    stream: StreamStats
    ingest: IngestStats
    ingest_queue: Callable[[], int]
    reconcile: ReconcileStats
    delivery: DeliveryStats
    orders: OrderStats
    order_queue: Callable[[], int]
    election: ElectionStats
    is_leader: Callable[[], bool]
    bridge: BridgeStats
    membership: Membership


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class BotCollector(Collector):
    """Reads :class:`Sources` on every scrape (see the module docstring)."""

    def __init__(self, sources: Sources) -> None:
        self._s = sources
        self.pending_alerts: float = float("nan")  # refreshed from PostgreSQL before a scrape

    def collect(self) -> Iterator[Metric]:
        yield from self._loops()
        yield from self._upstream()
        yield from self._caches()
        yield from self._stream()
        yield from self._reconcile()
        yield from self._alerts()
        yield from self._orders()
        yield from self._cluster()
        yield _gauge(
            "polybot_rss_bytes", "Resident memory of this process", rss_megabytes() * 2**20
        )

    def _loops(self) -> Iterable[Metric]:
        runs = CounterMetricFamily("polybot_loop_runs", "Loop iterations run", labels=["loop"])
        fails = CounterMetricFamily(
            "polybot_loop_failures", "Loop iterations failed", labels=["loop"]
        )
        streak = GaugeMetricFamily(
            "polybot_loop_consecutive_failures", "Failed iterations in a row", labels=["loop"]
        )
        took = GaugeMetricFamily(
            "polybot_loop_last_duration_seconds", "Duration of the last iteration", labels=["loop"]
        )
        running = GaugeMetricFamily(
            "polybot_worker_running",
            "1 when the worker runs in this process",
            labels=["worker", "role"],
        )
        for status in self._s.workers.statuses():
            running.add_metric([status.name, status.role.value], float(status.running))
            loop = status.loop
            if loop is None:
                continue
            runs.add_metric([loop.name], loop.runs)
            fails.add_metric([loop.name], loop.failures)
            streak.add_metric([loop.name], loop.consecutive_failures)
            if loop.last_duration is not None:
                took.add_metric([loop.name], loop.last_duration)
        return [runs, fails, streak, took, running]

    def _upstream(self) -> Iterable[Metric]:
        calls = CounterMetricFamily(
            "polybot_upstream_requests", "Polymarket requests per route", labels=["route"]
        )
        errors = CounterMetricFamily(
            "polybot_upstream_errors", "Polymarket requests that failed", labels=["route"]
        )
        for route, count in sorted(self._s.http.calls.items()):
            calls.add_metric([route], count)
            errors.add_metric([route], self._s.http.failures.get(route, 0))
        return [calls, errors]

    def _caches(self) -> Iterable[Metric]:
        hits = CounterMetricFamily("polybot_cache_hits", "Cache hits", labels=["cache"])
        misses = CounterMetricFamily("polybot_cache_misses", "Cache misses", labels=["cache"])
        entries = GaugeMetricFamily("polybot_cache_entries", "Entries held", labels=["cache"])
        age = GaugeMetricFamily(
            "polybot_cache_age_seconds",
            "Age of a snapshot, or of a cache's oldest entry",
            labels=["cache"],
        )
        for item in self._s.cache.describe():
            name = str(item["name"])
            entries.add_metric([name], float(item.get("entries", 0)))
            item_age = item.get("age") if item.get("kind") == "snapshot" else item.get("oldest_age")
            if item_age is not None:
                age.add_metric([name], float(item_age))
            if item.get("kind") == "ttl":
                hits.add_metric([name], float(item.get("hits", 0)))
                misses.add_metric([name], float(item.get("misses", 0)))
        return [hits, misses, entries, age]

    def _stream(self) -> Iterable[Metric]:
        stream, ingest = self._s.stream, self._s.ingest
        last = stream.last_message_at
        yield _gauge("polybot_stream_connected", "1 while the RTDS socket is up", stream.connected)
        yield _counter("polybot_stream_messages", "RTDS frames received", stream.messages)
        yield _counter("polybot_stream_reconnects", "RTDS reconnects", stream.reconnects)
        if last is not None:
            yield _gauge(
                "polybot_stream_last_message_age_seconds",
                "Since the last frame",
                time.time() - last,
            )
        yield _counter(
            "polybot_trades_stored", "Trades stored (live and backfilled)", ingest.stored
        )
        yield _counter("polybot_trades_shed", "Whale trades shed under load", ingest.shed)
        yield _gauge(
            "polybot_ingest_queue_depth", "Trades waiting to be stored", self._s.ingest_queue()
        )

    def _reconcile(self) -> Iterable[Metric]:
        """The stream's misses are the health signal: alert on their rate."""
        stats = self._s.reconcile
        yield _counter("polybot_reconcile_rounds", "Reconciliation rounds run", stats.rounds)
        yield _counter(
            "polybot_stream_missed_trades",
            "Trades the connected stream never sent, found by reconciliation and alerted late",
            stats.missed_while_connected,
        )
        yield _counter(
            "polybot_gap_recovered_trades",
            "Trades made while the stream was down or reconnecting, recovered from history",
            stats.recovered_after_gap,
        )
        yield _counter(
            "polybot_reconcile_check_failures", "Wallet checks that failed", stats.failures
        )
        if stats.last_round_seconds is not None:
            yield _gauge(
                "polybot_reconcile_last_round_seconds",
                "Duration of the last reconciliation round",
                stats.last_round_seconds,
            )

    def _alerts(self) -> Iterable[Metric]:
        delivery = self._s.delivery
        yield _gauge(
            "polybot_alert_queue_depth",
            "Alerts pending in PostgreSQL (cluster-wide)",
            self.pending_alerts,
        )
        yield _counter(
            "polybot_alerts_sent", "Alerts confirmed sent by this process", delivery.sent_alerts
        )
        yield _counter("polybot_alerts_failed", "Alerts given up on", delivery.failed_alerts)
        yield _counter(
            "polybot_alert_send_errors", "Send attempts that failed", delivery.send_errors
        )

    def _orders(self) -> Iterable[Metric]:
        orders = self._s.orders
        yield _counter("polybot_orders_created", "Paper orders created", orders.orders_created)
        yield _counter("polybot_order_syncs", "Order sync passes", orders.syncs)
        yield _gauge(
            "polybot_order_writer_queue_depth", "Copied trades waiting", self._s.order_queue()
        )
        last = orders.last_sync
        if last is not None:
            yield _gauge(
                "polybot_order_sync_open_orders", "Open orders at the last sync", last.open_orders
            )
            yield _gauge("polybot_order_sync_filled", "Orders filled by the last sync", last.filled)

    def _cluster(self) -> Iterable[Metric]:
        election, bridge, view = self._s.election, self._s.bridge, self._s.membership.view
        yield _gauge("polybot_leader", "1 while this process is the leader", self._s.is_leader())
        yield _counter(
            "polybot_leader_elections", "Times this process became leader", election.elections
        )
        yield _gauge("polybot_cluster_members", "Processes with a heartbeat row", len(view.members))
        yield _gauge(
            "polybot_cluster_stale_members", "Members without a recent beat", len(view.stale)
        )
        yield _counter("polybot_cluster_events_sent", "Cluster events sent (NOTIFY)", bridge.sent)
        yield _counter(
            "polybot_cluster_events_received", "Cluster events received", bridge.received
        )
        yield _counter("polybot_cluster_listen_reconnects", "LISTEN reconnects", bridge.reconnects)
        yield _counter("polybot_cluster_notify_failures", "NOTIFYs retried", bridge.send_failures)
        yield _counter(
            "polybot_cluster_events_refused",
            "Cluster events PostgreSQL refused (dropped)",
            bridge.refused,
        )
        queries = election.queries + bridge.queries + self._s.membership.queries
        yield _counter(
            "polybot_cluster_coordination_queries", "Round trips spent on coordination", queries
        )


class Metrics:
    """This process's registry: the collector, and the trade → alert latency histogram."""

    def __init__(
        self, sources: Sources, pending_alerts: Callable[[], Awaitable[dict[str, int]]]
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = BotCollector(sources)
        self.registry.register(self.collector)
        self._pending_alerts = pending_alerts
        self.latency = Histogram(
            "polybot_trade_to_alert_seconds",
            "From a trade on Polymarket to its alert confirmed in Discord (live trades)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def alerts_sent(self, cards: Sequence[AlertCard]) -> None:
        """The dispatcher's callback after a confirmed send (delayed alerts are left out: the
        stream missed their trades, so they were late by design)."""
        now = time.time()
        for card in cards:
            if not card.delayed:
                for trade in card.trades:
                    self.latency.observe(max(0.0, now - trade.timestamp))

    async def render(self) -> bytes:
        """The text exposition; the database figure is refreshed first (briefly)."""
        try:
            async with asyncio.timeout(1.0):
                counts = await self._pending_alerts()
            self.collector.pending_alerts = float(counts.get("PENDING", 0))
        except Exception as exc:
            log.debug("pending alert count unavailable: %s", exc)
            self.collector.pending_alerts = float("nan")
        return generate_latest(self.registry)
