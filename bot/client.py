"""The bot object: owns the pool, the HTTP session, the cache and the bus; loads the cogs.

Everything long-lived hangs off this object (no module-level state), so tests can run a whole
bot against local fakes and throw it away.
"""

from __future__ import annotations

import hashlib
import json
import logging

import aiohttp
import asyncpg
import discord
import yarl
from discord.ext import commands

from bot.alert_sender import DiscordAlertSender
from bot.cache import HotCache
from bot.config import Settings
from bot.copytrading import CopyTradingService
from bot.events import TRADE_STORED, EventBus
from bot.loops import PeriodicTask
from bot.polymarket.data_api import DataAPI
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.stream import TradeStream
from bot.services.alerts import AlertDispatcher
from bot.services.follows import FollowService
from bot.services.leaderboard import LeaderboardService
from bot.services.markets import MarketService
from bot.services.prices import PriceService
from bot.services.profiles import ProfileService
from bot.services.trader_stats import TraderStatsStore
from bot.services.trades import TradeIngest
from bot.tree import BotTree
from db import leaderboard_queries as queries

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.leaderboard",
    "cogs.admin",
    "cogs.trades",
    "cogs.follows",
    "cogs.traders",
    "cogs.markets",
    "cogs.copy",
)
_TREE_HASH_KEY = "command_tree_hash"


def apply_discord_overrides(settings: Settings) -> None:
    """Point discord.py at a local fake or proxy (DISCORD_API_BASE / DISCORD_GATEWAY_URL)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class PolymarketBot(commands.Bot):
    def __init__(
        self, settings: Settings, pool: asyncpg.Pool, session: aiohttp.ClientSession
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=BotTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.settings = settings
        self.pool = pool
        self.session = session
        self.cache = HotCache()
        self.bus = EventBus()
        self.loops: dict[str, PeriodicTask] = {}
        self.polymarket = PolymarketHTTP(
            session,
            hosts={
                "data": settings.data_api_url,
                "gamma": settings.gamma_api_url,
                "clob": settings.clob_api_url,
            },
            timeout=settings.http_timeout_seconds,
            max_retries=settings.http_max_retries,
        )
        self.data_api = DataAPI(self.polymarket)
        self.trader_stats = TraderStatsStore(
            self.data_api,
            pool,
            ttl=settings.trader_detail_ttl_seconds,
            refresh_interval=settings.leaderboard_refresh_seconds,
            concurrency=settings.detail_concurrency,
        )
        self.leaderboard = LeaderboardService(
            pool,
            self.data_api,
            self.trader_stats,
            self.cache,
            self.bus,
            candidates=settings.leaderboard_candidates,
            refresh_interval=settings.leaderboard_refresh_seconds,
            retention_days=settings.snapshot_retention_days,
        )
        self.follows = FollowService(pool, self.bus)
        self.gamma = GammaAPI(self.polymarket)
        self.clob = ClobAPI(self.polymarket)
        self.prices = PriceService(
            pool,
            self.gamma,
            self.clob,
            self.cache.ttl_cache("quotes", ttl=2.5, stale_ttl=0.0, max_size=5_000),
            self.cache.ttl_cache("midpoints", ttl=3.0, stale_ttl=60.0, max_size=20_000),
        )
        self.markets = MarketService(pool, self.gamma, self.prices, self.cache)
        self.profiles = ProfileService(
            pool,
            self.data_api,
            self.leaderboard,
            self.cache.ttl_cache(
                "traders",
                ttl=settings.trader_cache_ttl_seconds,
                stale_ttl=3600.0,
                max_size=2_000,
            ),
            self.bus,
            details_ttl=settings.trader_detail_ttl_seconds,
        )
        self.trader_stats.on_details = self.profiles.record_details
        self.alerts = AlertDispatcher(
            pool, self.follows, DiscordAlertSender(self, self.leaderboard, self.prices)
        )
        self.orders = CopyTradingService(
            pool,
            self.clob,
            market_of=self.markets.fresh,
            position_of=self.profiles.position_size,
            max_slippage=settings.copy_max_slippage,
            order_ttl=settings.order_ttl_seconds,
        )
        self.bus.subscribe(TRADE_STORED, self.orders.on_trade_stored)
        self.ingest = TradeIngest(
            pool,
            self.follows,
            self.bus,
            self.polymarket,
            on_deliveries=self.alerts.notify,
            retention_days=settings.trades_retention_days,
            watched=self.orders,
        )
        self.stream = TradeStream(
            settings.rtds_url,
            self.ingest.submit,
            self.ingest.wants,
            ping_interval=settings.stream_ping_seconds,
            silence_timeout=settings.stream_silence_seconds,
            on_connect=self.ingest.backfill,
        )

    async def setup_hook(self) -> None:
        await self.leaderboard.warm()
        await self.follows.load()
        await self.orders.load()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()

    def register_loop(self, loop: PeriodicTask) -> PeriodicTask:
        self.loops[loop.name] = loop
        return loop

    async def sync_commands(self) -> None:
        """Sync only when the command tree changed since the last sync (Discord rate-limits it)."""
        guilds = [discord.Object(gid) for gid in self.settings.guild_ids]
        for guild in guilds:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        digest_source = json.dumps(
            {
                "app": self.application_id,
                "commands": payload,
                "guilds": sorted(self.settings.guild_ids),
            },
            sort_keys=True,
        )
        digest = hashlib.sha256(digest_source.encode()).hexdigest()
        async with self.pool.acquire() as conn:
            if await queries.get_state(conn, _TREE_HASH_KEY) == digest:
                log.info("command tree unchanged; not syncing")
                return
        if guilds:
            for guild in guilds:
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        async with self.pool.acquire() as conn:
            await queries.set_state(conn, _TREE_HASH_KEY, digest)
        log.info("synced %d commands to %s", len(payload), self.settings.guild_ids or "all guilds")

    async def close(self) -> None:
        for extension in list(self.extensions):
            try:
                await self.unload_extension(extension)
            except Exception:
                log.exception("unloading %s failed", extension)
        for loop in self.loops.values():
            await loop.stop()
        await self.leaderboard.close()
        await self.bus.close()
        await self.cache.close()
        await super().close()
