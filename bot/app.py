"""The composition root: the one place that builds the bot, starts it and stops it.

``Application`` builds, in this order: Polymarket clients → services → the Discord client →
alert delivery → the cluster parts (election, event bridge, heartbeat, cache reloads) →
health and metrics → workers. ``open_application`` adds what comes before (pool, migrations,
HTTP session) and closes everything in reverse. ``python -m bot``, the end-to-end tests and the
benchmarks all build the bot through these two, so nothing copies the wiring.

Roles: every process runs the every-process workers and answers its shards' commands; the one
process that holds the leader lock also runs the leader workers (loops, the trade stream,
ingestion, delivery). A lone process simply wins the lock at start.

Start-up (``start``): the event bridge listens, holding what it hears while the caches are
warmed from PostgreSQL, then delivers it (reloaded after warm, never lost); the bot logs in to
Discord (loads the cogs, syncs commands); the every-process workers start in registration
order, the last, the election, starting the leader workers when it wins. Shutdown (``close``)
drains in order: the leader workers stop (the stream first, so nothing new arrives; then the
ingest and order queues flush), the lock is released and the others are told, so one takes over
at once; then the every-process workers in reverse, the Discord client, the caches and the bus
(the pool and HTTP session close last, in ``open_application``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
import asyncpg

from bot.admin import AdminService, ClusterHooks
from bot.alert_sender import DiscordAlertSender, DiscordRateObserver
from bot.cache import HotCache
from bot.client import CommandSyncState, Services, build_bot
from bot.cluster.caches import CacheParts
from bot.cluster.models import Identity
from bot.cluster.node import ClusterNode
from bot.config import Settings
from bot.copytrading.service import CopyTradingService
from bot.database import DatabaseGuard
from bot.events import CopiesChanged, EventBus, MarketsForgotten, TradesStored
from bot.invite import ready_line
from bot.leaderboard.categories import CategoryBoards
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import PERIODS
from bot.leaderboard.record import ScoreRecordKeeper
from bot.leaderboard.service import LeaderboardService
from bot.leaderboard.stats_store import TraderStatsStore
from bot.loops import PeriodicTask
from bot.markets.prices import PriceService
from bot.markets.service import MarketService
from bot.memory import MEMORY_INTERVAL, MemoryWatch
from bot.monitoring.health import HealthCheck
from bot.monitoring.metrics import Metrics, Sources
from bot.monitoring.server import MonitoringServer
from bot.polymarket.accounts import AccountsAPI
from bot.polymarket.data_api import DataAPI
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.stream import TradeStream
from bot.polymarket.tags import MarketTagsAPI
from bot.render.chart_cache import ChartRenderer
from bot.signals import lookups
from bot.signals.context import CardContexts, FollowedPositions
from bot.signals.labels import LabelService
from bot.signals.service import SignalService
from bot.trackrecord.service import TrackRecordService
from bot.traders.profiles import ProfileService
from bot.traders.resolve import TraderDirectory
from bot.trades.dispatcher import GLOBAL_SHARE, AlertDispatcher
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from bot.trades.reconciler import Reconciler
from bot.workers import Role, WorkerRegistry
from db.migrate import migrate
from db.pool import create_pool

log = logging.getLogger(__name__)

USER_AGENT = "polymarket-discord-bot/1.0"
MARKETS_INTERVAL = 60.0
HOURLY = 3600.0
SIGNAL_BOARDS_INTERVAL = 15.0
DAILY = 86_400.0


class Application:
    """Every long-lived object of one process, built in a written order."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        session: aiohttp.ClientSession,
        *,
        dsn: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``dsn`` opens the cluster's own connections (leader lock, LISTEN); without it (a
        test or benchmark handing in only a pool) the process leads alone. ``clock``
        (wall-clock seconds) is for benchmarks that simulate minutes passing."""
        self.settings = settings
        self.pool = pool
        self.session = session
        self.clock = clock
        self.cache = HotCache(wall_clock=clock)
        self.bus = EventBus()
        self.database = DatabaseGuard()  # commands' database work: bounded, with a memory fallback
        self.identity = Identity.of_this_process(settings.shard_ids, settings.shard_count)
        self._closing: asyncio.Task[None] | None = None
        self._logged_in = False
        self._just_warmed = False  # true only while start() runs the first election
        self._build_clients()
        self._build_leaderboard()
        self._build_services()
        self._build_signals()
        self._build_loops()
        self.workers = WorkerRegistry()  # filled below, once alert delivery exists
        services = self._services()
        self.admin = services.admin
        self.bot = build_bot(services, CommandSyncState.in_database(self.pool))
        self._announced_ready = False
        self.bot.add_listener(self._on_ready, "on_ready")
        self._build_trade_path()
        self._build_cluster(dsn)
        self._build_monitoring()
        self._register_workers()

    # ---- building -----------------------------------------------------------------------------

    def _build_clients(self) -> None:
        settings = self.settings
        self.http = PolymarketHTTP(
            self.session,
            hosts={
                "data": settings.data_api_url,
                "gamma": settings.gamma_api_url,
                "clob": settings.clob_api_url,
            },
            timeout=settings.http_timeout_seconds,
            max_retries=settings.http_max_retries,
            rate_scale=settings.http_rate_scale,
        )
        self.data_api = DataAPI(self.http)
        self.gamma = GammaAPI(self.http)
        self.clob = ClobAPI(self.http)
        self.accounts = AccountsAPI(self.http)
        self.market_tags = MarketTagsAPI(self.http)

    def _build_leaderboard(self) -> None:
        """The boards (overall and by category) and the trader details they are scored on."""
        settings, pool, cache, bus = self.settings, self.pool, self.cache, self.bus
        self.trader_stats = TraderStatsStore(
            self.data_api,
            pool,
            ttl=settings.trader_detail_ttl_seconds,
            refresh_interval=settings.leaderboard_refresh_seconds,
            concurrency=settings.detail_concurrency,
            clock=self.clock,
        )
        self.leaderboard = LeaderboardService(
            pool,
            self.data_api,
            self.trader_stats,
            cache,
            bus,
            candidates=settings.leaderboard_candidates,
            refresh_interval=settings.leaderboard_refresh_seconds,
            category_interval=settings.category_refresh_seconds,
            retention_days=settings.snapshot_retention_days,
            evidence=Evidence(settings.score_min_closed, settings.score_min_volume),
            clock=self.clock,
        )
        self.category_boards = CategoryBoards(self.leaderboard, self.data_api)

    def _build_services(self) -> None:
        settings, pool, cache, bus = self.settings, self.pool, self.cache, self.bus
        self.track_record = TrackRecordService(
            pool,
            self.gamma,
            cache,
            interval=settings.track_record_seconds,
            clock=self.clock,
            database=self.database,
        )
        self.follows = FollowService(pool, bus, database=self.database)
        self.prices = PriceService(pool, self.gamma, self.clob, cache, clock=self.clock)
        self.markets = MarketService(
            pool, self.gamma, self.prices, cache, clock=self.clock, database=self.database
        )
        self.profiles = ProfileService(
            pool,
            self.data_api,
            self.leaderboard,
            cache,
            bus,
            ttl=settings.trader_cache_ttl_seconds,
            details_ttl=settings.trader_detail_ttl_seconds,
            alert_record=self.track_record.trader_summary,
            clock=self.clock,
            database=self.database,
        )
        self.trader_stats.on_details = self.profiles.record_details
        self.score_record = ScoreRecordKeeper(
            pool, self.leaderboard, self.profiles.refresh_details, clock=self.clock
        )
        self.traders = TraderDirectory(self.leaderboard, self.profiles, database=self.database)
        self.copytrading = CopyTradingService(
            pool,
            self.clob,
            market_of=self.markets.fresh,
            position_of=self.profiles.position_size,
            max_slippage=settings.copy_max_slippage,
            order_ttl=settings.order_ttl_seconds,
            database=self.database,
            on_copies_changed=lambda: bus.publish(CopiesChanged()),
        )
        bus.subscribe(TradesStored, self.copytrading.on_trades_stored)
        self.charts = ChartRenderer(cache, ttl=settings.trader_cache_ttl_seconds)

    def _build_signals(self) -> None:
        """Signals (fresh, smart, consensus), labels, and what alert cards say about a trade."""
        pool, clock = self.pool, self.clock
        self.labels = LabelService(pool, self.bus, database=self.database)
        ages = lookups.wallet_ages(pool, self.accounts, clock=clock)
        facts = lookups.market_facts(pool, self.market_tags, clock=clock)
        self.signals = SignalService(
            pool,
            self.bus,
            self.leaderboard,
            ages,
            facts,
            fresh_days=self.settings.fresh_wallet_days,
            follows=self.follows,
            database=self.database,
            clock=clock,
        )
        self.followed_positions = FollowedPositions(pool, self.profiles, self.bus, clock=clock)
        self.card_contexts = CardContexts(
            pool, self.leaderboard, self.prices, self.labels, facts, ages, self.cache, clock=clock
        )

    def _build_trade_path(self) -> None:
        """Stream → ingest → alert delivery, which posts through the Discord client; the
        reconciler stores what the stream missed through the same ingest."""
        settings = self.settings
        sender = DiscordAlertSender(self.bot, self.card_contexts)
        self.alerts = AlertDispatcher(
            self.pool,
            self.follows,
            sender,
            global_rate=settings.discord_global_limit * GLOBAL_SHARE,
            on_sent=lambda cards: self.metrics.alerts_sent(cards),
        )
        # Discord's rate-limit headers, read off discord.py's session (created at login).
        self.rate_observer = DiscordRateObserver(
            self.alerts.observe_bucket, self.alerts.global_limited
        )
        self.bot.http.http_trace = self.rate_observer.trace
        self.ingest = TradeIngest(
            self.pool,
            self.follows,
            self.bus,
            on_deliveries=self.alerts.notify,
            retention_days=settings.trades_retention_days,
            watched=self.copytrading,
            signals=self.signals,
        )
        self.reconciler = Reconciler(
            self.pool,
            self.data_api,
            self.ingest,
            self.follows,
            interval=settings.reconcile_seconds,
            connected_since=lambda: self.stream.stats.connected_since,
            platform_min_usd=lambda: min(self.follows.whale_min, self.signals.platform_min_usd()),
            watched=self.copytrading,
            retention_days=settings.trades_retention_days,
        )
        self.stream = TradeStream(
            settings.rtds_url,
            self.ingest.submit,
            self.ingest.wants,
            ping_interval=settings.stream_ping_seconds,
            silence_timeout=settings.stream_silence_seconds,
            on_connect=self.reconciler.request_round,
            rejections=self.http.rejections,
        )

    def _build_cluster(self, dsn: str | None) -> None:
        """Election, event bridge, heartbeat and cache reloads (see bot/cluster/node.py)."""
        self.cluster = ClusterNode(
            settings=self.settings,
            pool=self.pool,
            bus=self.bus,
            identity=self.identity,
            dsn=dsn,
            lead=self._become_leader,
            stop_leading=self._stop_leading,
            caches=self._cache_parts(),
            run_refresh=self.admin.refresh,
        )

    def _cache_parts(self) -> CacheParts:
        return CacheParts(
            boards=self.leaderboard.reload,
            board_ids=self.leaderboard.publisher.held_ids,
            writes_boards=lambda: self.cluster.is_leader(),
            follows=self.follows.load,
            copies=self.copytrading.load,
            settings=(self.signals.load, self.labels.load),
            forget_traders=self.profiles.forget,
            forget_all_traders=self.profiles.forget_profiles,
            forget_markets=self.markets.forget_all,
        )

    def _build_monitoring(self) -> None:
        """Metrics are always kept (cheap); the HTTP server only with METRICS_PORT."""
        settings = self.settings
        sources = Sources(
            workers=self.workers,
            http=self.http,
            cache=self.cache,
            stream=self.stream.stats,
            ingest=self.ingest.stats,
            ingest_queue=self.ingest.queue_depth,
            reconcile=self.reconciler.stats,
            delivery=self.alerts.stats,
            orders=self.copytrading.stats,
            order_queue=self.copytrading.queue.qsize,
            election=self.cluster.election.stats,
            is_leader=self.cluster.is_leader,
            bridge=self.cluster.bridge_stats,
            membership=self.cluster.membership,
        )
        self.metrics = Metrics(sources, self.alerts.pending_counts)
        self.health = HealthCheck(
            self.pool,
            gateway_problem=lambda: self.bot.gateway_problem(),
            missing_boards=lambda: [p for p in PERIODS if self.leaderboard.board(p) is None],
            details=lambda: {
                "process": self.identity.process_id,
                "leader": self.cluster.is_leader(),
                "shards": list(self.identity.shards),
                "shard_count": self.identity.shard_count,
            },
        )
        self.monitoring: MonitoringServer | None = None
        if settings.metrics_port is not None:
            self.monitoring = MonitoringServer(
                settings.metrics_host, settings.metrics_port, self.health, self.metrics
            )

    def _services(self) -> Services:
        return Services(
            settings=self.settings,
            leaderboard=self.leaderboard,
            traders=self.traders,
            profiles=self.profiles,
            follows=self.follows,
            markets=self.markets,
            prices=self.prices,
            copytrading=self.copytrading,
            admin=self._admin(),
            charts=self.charts,
            track_record=self.track_record,
            signals=self.signals,
            labels=self.labels,
        )

    def _build_loops(self) -> None:
        """The loops an admin can run on demand (the others are built where registered)."""
        settings = self.settings
        self.leaderboard_loop = PeriodicTask(
            "leaderboard",
            settings.leaderboard_refresh_seconds,
            self.leaderboard.refresh,
            max_backoff=max(600.0, settings.leaderboard_refresh_seconds),
        )
        self.positions_loop = PeriodicTask(
            "trader-positions",
            settings.trader_sync_seconds,
            self.profiles.sync_top_positions,
            run_first_immediately=False,
        )
        self.markets_loop = PeriodicTask(
            "markets", MARKETS_INTERVAL, self.markets.sync, run_first_immediately=False
        )

    def _admin(self) -> AdminService:
        return AdminService(
            leaderboard=self.leaderboard,
            markets=self.markets,
            leaderboard_loop=self.leaderboard_loop,
            markets_loop=self.markets_loop,
            positions_loop=self.positions_loop,
            workers=self.workers,
            cache=self.cache,
            http=self.http,
            signal_figures=self.signals.figures,
            database=self.database,
            cluster=ClusterHooks(
                is_leader=lambda: self.cluster.is_leader(),
                refresh_on_leader=lambda target: self.cluster.refresh_relay.request(target),
                markets_forgotten=lambda: self.bus.publish(MarketsForgotten()),
                view=lambda: self.cluster.membership.view,
            ),
        )

    def _register_workers(self) -> None:
        """Start order; stop is the reverse. Loops first; then the consumers of the trade path
        (alert delivery, paper orders, the ingest writer); the stream that feeds them last."""
        settings, add = self.settings, self.workers.add
        add(self.leaderboard_loop)
        add(
            PeriodicTask(
                "category-leaderboards",
                settings.category_refresh_seconds,
                self.category_boards.refresh,
                max_backoff=max(3600.0, settings.category_refresh_seconds),
            )
        )
        add(PeriodicTask("score-record", HOURLY, self.score_record.run))
        add(PeriodicTask("track-record", settings.track_record_seconds, self.track_record.run))
        add(self.positions_loop)
        # first run at start: a bot restarted more often than daily would never run it
        add(PeriodicTask("trader-daily-stats", DAILY, self.profiles.refresh_top_details))
        add(self.markets_loop)
        add(PeriodicTask("trade-retention", DAILY, self.ingest.prune_expired))
        memory = MemoryWatch(settings.memory_warn_mb)
        add(PeriodicTask("memory", MEMORY_INTERVAL, memory.check, role=Role.EVERY_PROCESS))
        sync_every = settings.order_sync_seconds
        self.order_sync_loop = PeriodicTask(
            "orders", sync_every, self.copytrading.sync, run_first_immediately=False
        )
        add(self.order_sync_loop)
        add(PeriodicTask("signal-boards", SIGNAL_BOARDS_INTERVAL, self.signals.refresh))
        # Every process records which markets its users asked about; the leader's markets loop
        # keeps those fresh.
        add(
            PeriodicTask(
                "price-demand",
                MARKETS_INTERVAL,
                self.prices.flush_demand,
                role=Role.EVERY_PROCESS,
                run_first_immediately=False,
            )
        )
        add(self.alerts)
        add(self.copytrading.writer)
        for worker in self.cluster.leader_workers():
            add(worker)
        add(self.ingest)
        add(self.reconciler)
        add(self.stream)
        if self.monitoring is not None:
            add(self.monitoring)
        for worker in self.cluster.workers():  # every process; the election last
            add(worker)

    # ---- running --------------------------------------------------------------------------------

    async def _on_ready(self) -> None:
        """Once per process: who we are and the invite link (with the permissions it needs)."""
        if not self._announced_ready:
            self._announced_ready = True
            log.info("%s", ready_line(self.bot.user, self.bot.application_id))

    async def warm(self) -> None:
        """Read before serving: boards, score record, follows, copies, signals, labels."""
        await self.leaderboard.warm()
        await self.score_record.load()
        await self.follows.load()
        await self.copytrading.load()
        await self.signals.load()
        await self.labels.load()

    async def start(self, token: str) -> None:
        """In the start-up order of the module docstring; ``connect`` follows."""
        await self.cluster.listen()
        await self.warm()
        await self.cluster.deliver_held()
        self._logged_in = True  # from here the Discord client has something to close
        await self.bot.login(token)
        self._just_warmed = True
        try:
            await self.workers.start([Role.EVERY_PROCESS])
        finally:
            self._just_warmed = False

    async def _become_leader(self) -> None:
        """Won the lock: read what may have changed since our warm start (not in ``start``:
        warm has just read it, the bridge listening throughout), then start the leader's
        workers (alert delivery resumes what is pending; the stream's first connect backfills
        what was traded while nobody listened)."""
        await self.leaderboard.recover_interrupted()
        if not self._just_warmed:
            await self.follows.load()
            await self.copytrading.load()
            await self.trader_stats.load()
        await self.workers.start([Role.LEADER])

    async def _stop_leading(self) -> None:
        await self.workers.stop([Role.LEADER])

    async def run(self, token: str) -> None:
        """Start, then stay connected to the gateway until the bot is closed."""
        await self.start(token)
        await self.bot.connect()

    async def close(self) -> None:
        """Stop the workers (stream first), close Discord, then caches and bus. Idempotent: a
        signal handler and the end of ``open_application`` may both call it; the second call
        waits until the first has finished (then the pool and HTTP session close)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        await self.cluster.election.stop()  # leader workers drain; then the lock is handed on
        await self.workers.stop()
        await self.cluster.close()
        if self._logged_in and not self.bot.is_closed():
            await self.bot.close()
        await self.leaderboard.close()
        await self.signals.close()
        await self.bus.close()
        await self.cache.close()


@asynccontextmanager
async def open_application(
    settings: Settings,
    *,
    dsn: str | None = None,
    pool: asyncpg.Pool | None = None,
    session: aiohttp.ClientSession | None = None,
) -> AsyncIterator[Application]:
    """Pool (migrated) → HTTP session → Application; closed in reverse on exit.

    Give ``dsn`` to have the pool created here, or an existing ``pool`` (tests share one per
    test database); likewise an existing ``session``."""
    async with AsyncExitStack() as stack:
        if pool is None:
            if dsn is None:
                raise ValueError("open_application needs a dsn or a pool")
            pool = await create_pool(dsn)
            stack.push_async_callback(pool.close)
            async with pool.acquire() as conn:
                await migrate(conn)
        if session is None:
            session = await stack.enter_async_context(
                aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
            )
        app = Application(settings, pool, session, dsn=dsn)
        stack.push_async_callback(app.close)
        yield app
