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
from bot.alert_sender import DiscordAlertSender, DiscordRateObserver
from bot.cache import HotCache
from bot.client import CommandSyncState, PolymarketBot, Services
from bot.config import Settings
from bot.copytrading import CopyTradingService
from bot.events import EventBus, TradeStored
from bot.leaderboard.service import LeaderboardService
from bot.leaderboard.stats_store import TraderStatsStore
from bot.loops import PeriodicTask
from bot.markets.prices import PriceService
from bot.markets.service import MarketService
from bot.memory import MEMORY_INTERVAL, MemoryWatch
from bot.polymarket.data_api import DataAPI
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.stream import TradeStream
from bot.render.chart_cache import ChartRenderer
from bot.traders.profiles import ProfileService
from bot.traders.resolve import TraderDirectory
from bot.trades.dispatcher import GLOBAL_SHARE, AlertDispatcher
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from bot.trades.reconciler import Reconciler
from bot.workers import Role, WorkerRegistry
from db import leaderboard_queries
from db.migrate import migrate
from db.pool import create_pool

log = logging.getLogger(__name__)

USER_AGENT = "polymarket-discord-bot/1.0"
MARKETS_INTERVAL = 60.0
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
        self._closed = False
        self._build_clients()
        self._build_services()
        self._build_loops()
        self.workers = WorkerRegistry()  # filled below, once alert delivery exists
        self.bot = PolymarketBot(self._services(), self._command_sync_state())
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
            retention_days=settings.snapshot_retention_days,
            clock=self.clock,
        )
        self.follows = FollowService(pool, bus)
        self.prices = PriceService(pool, self.gamma, self.clob, cache, clock=self.clock)
        self.markets = MarketService(pool, self.gamma, self.prices, cache, clock=self.clock)
        self.profiles = ProfileService(
            pool,
            self.data_api,
            self.leaderboard,
            cache,
            bus,
            ttl=settings.trader_cache_ttl_seconds,
            details_ttl=settings.trader_detail_ttl_seconds,
            clock=self.clock,
        )
        self.trader_stats.on_details = self.profiles.record_details
        self.traders = TraderDirectory(self.leaderboard, self.profiles)
        self.copytrading = CopyTradingService(
            pool,
            self.clob,
            market_of=self.markets.fresh,
            position_of=self.profiles.position_size,
            max_slippage=settings.copy_max_slippage,
            order_ttl=settings.order_ttl_seconds,
        )
        bus.subscribe(TradeStored, self.copytrading.on_trade_stored)
        self.charts = ChartRenderer(cache, ttl=settings.trader_cache_ttl_seconds)

    def _build_trade_path(self) -> None:
        """Stream → ingest → alert delivery, which posts through the Discord client; the
        reconciler stores what the stream missed through the same ingest."""
        settings = self.settings
        sender = DiscordAlertSender(self.bot, self.leaderboard, self.prices)
        self.alerts = AlertDispatcher(
            self.pool,
            self.follows,
            sender,
            global_rate=settings.discord_global_limit * GLOBAL_SHARE,
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
        )
        self.reconciler = Reconciler(
            self.pool,
            self.data_api,
            self.ingest,
            self.follows,
            interval=settings.reconcile_seconds,
            connected_since=lambda: self.stream.stats.connected_since,
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
            markets_loop=self.markets_loop,
            positions_loop=self.positions_loop,
            workers=self.workers,
            cache=self.cache,
            http=self.http,
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
        add(self.alerts)
        add(self.copytrading.writer)
        add(self.ingest)
        add(self.reconciler)
        add(self.stream)

    # ---- running --------------------------------------------------------------------------------

    async def warm(self) -> None:
        """Memory from PostgreSQL before anything answers: boards, follows, copied wallets."""
        await self.leaderboard.warm()
        await self.follows.load()
        await self.copytrading.load()

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
