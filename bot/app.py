"""The composition root: the one place that builds the bot, starts it and stops it.

``Application`` builds, in this order: Polymarket clients → services → the Discord client →
alert delivery → workers. ``open_application`` adds what comes before (pool, migrations, HTTP
session) and closes everything in reverse. ``python -m bot``, the end-to-end tests and the
benchmarks all build the bot through these two, so nothing copies the wiring.

Start-up (``start``): warm the caches from PostgreSQL, log in to Discord (which loads the cogs
and syncs commands), then start the workers in their registration order. Shutdown (``close``):
stop the workers in reverse (the stream first, so nothing new arrives while queues flush), close
the Discord client, then the caches and the bus.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
import asyncpg

from bot.admin import AdminService
from bot.alert_sender import DiscordAlertSender
from bot.cache import HotCache
from bot.client import CommandSyncState, PolymarketBot, Services
from bot.config import Settings
from bot.copytrading import CopyTradingService
from bot.database import DatabaseGuard
from bot.events import EventBus, TradeStored
from bot.invite import ready_line
from bot.leaderboard.categories import CategoryBoards
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.record import ScoreRecordKeeper
from bot.leaderboard.service import LeaderboardService
from bot.leaderboard.stats_store import TraderStatsStore
from bot.loops import PeriodicTask
from bot.markets.prices import PriceService
from bot.markets.service import MarketService
from bot.memory import MEMORY_INTERVAL, MemoryWatch
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
from bot.trades.dispatcher import AlertDispatcher
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from bot.workers import Role, WorkerRegistry
from db import leaderboard_queries
from db.migrate import migrate
from db.pool import create_pool

log = logging.getLogger(__name__)

USER_AGENT = "polymarket-discord-bot/1.0"
MARKETS_INTERVAL = 60.0
HOURLY = 3600.0
SIGNAL_BOARDS_INTERVAL = 15.0
DAILY = 86_400.0
COMMAND_TREE_KEY = "command_tree_hash"


class Application:
    """Every long-lived object of one process, built in a written order."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` (wall-clock seconds) is for benchmarks that simulate minutes passing."""
        self.settings = settings
        self.pool = pool
        self.session = session
        self.clock = clock
        self.cache = HotCache(wall_clock=clock)
        self.bus = EventBus()
        self.database = DatabaseGuard()  # commands' database work: bounded, with a memory fallback
        self._closed = False
        self._build_clients()
        self._build_services()
        self._build_signals()
        self._build_loops()
        self.workers = WorkerRegistry()  # filled below, once alert delivery exists
        self.bot = PolymarketBot(self._services(), self._command_sync_state())
        self._announced_ready = False
        self.bot.add_listener(self._on_ready, "on_ready")
        self._build_trade_path()
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
        )
        self.data_api = DataAPI(self.http)
        self.gamma = GammaAPI(self.http)
        self.clob = ClobAPI(self.http)
        self.accounts = AccountsAPI(self.http)
        self.market_tags = MarketTagsAPI(self.http)

    def _build_services(self) -> None:
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
        self.track_record = TrackRecordService(
            pool, self.gamma, cache, interval=settings.track_record_seconds, clock=self.clock
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
        )
        bus.subscribe(TradeStored, self.copytrading.on_trade_stored)
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
        """Stream → ingest → alert delivery, which posts through the Discord client."""
        settings = self.settings
        sender = DiscordAlertSender(self.bot, self.card_contexts)
        self.alerts = AlertDispatcher(self.pool, self.follows, sender)
        self.ingest = TradeIngest(
            self.pool,
            self.follows,
            self.bus,
            self.http,
            on_deliveries=self.alerts.notify,
            retention_days=settings.trades_retention_days,
            watched=self.copytrading,
            signals=self.signals,
        )
        self.stream = TradeStream(
            settings.rtds_url,
            self.ingest.submit,
            self.ingest.wants,
            ping_interval=settings.stream_ping_seconds,
            silence_timeout=settings.stream_silence_seconds,
            on_connect=self.ingest.backfill,
            rejections=self.http.rejections,
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
            prices=self.prices,
            leaderboard_loop=self.leaderboard_loop,
            markets_loop=self.markets_loop,
            positions_loop=self.positions_loop,
            workers=self.workers,
            cache=self.cache,
            http=self.http,
            signal_figures=self.signals.figures,
            database=self.database,
        )

    def _command_sync_state(self) -> CommandSyncState:
        async def load() -> str | None:
            async with self.pool.acquire() as conn:
                return await leaderboard_queries.get_state(conn, COMMAND_TREE_KEY)

        async def save(digest: str) -> None:
            async with self.pool.acquire() as conn:
                await leaderboard_queries.set_state(conn, COMMAND_TREE_KEY, digest)

        return CommandSyncState(load, save)

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
        add(self.alerts)
        add(self.copytrading.writer)
        add(self.ingest)
        add(self.stream)

    # ---- running --------------------------------------------------------------------------------

    async def _on_ready(self) -> None:
        """Once per process: who we are and the invite link (with the permissions it needs)."""
        if not self._announced_ready:
            self._announced_ready = True
            log.info("%s", ready_line(self.bot.user, self.bot.application_id))

    async def warm(self) -> None:
        """Memory from PostgreSQL before anything answers: boards, follows, copied wallets,
        signals and labels."""
        await self.leaderboard.warm()
        await self.score_record.load()
        await self.follows.load()
        await self.copytrading.load()
        await self.signals.load()
        await self.labels.load()

    async def start(self, token: str) -> None:
        """Warm, log in (loads cogs, syncs commands), start the workers. ``connect`` follows."""
        await self.warm()
        await self.bot.login(token)
        await self.workers.start()

    async def run(self, token: str) -> None:
        """Start, then stay connected to the gateway until the bot is closed."""
        await self.start(token)
        await self.bot.connect()

    async def close(self) -> None:
        """Stop the workers (stream first), close Discord, then caches and bus. Idempotent: a
        signal handler and the end of ``open_application`` may both call it."""
        if self._closed:
            return
        self._closed = True
        await self.workers.stop()
        if not self.bot.is_closed():
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
        app = Application(settings, pool, session)
        stack.push_async_callback(app.close)
        yield app
