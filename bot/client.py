"""The Discord client: receives the services the commands need, loads the cogs, syncs commands.

It builds nothing and starts no background work: bot/app.py builds every long-lived object and
owns the workers, so the client is only the commands' door to Discord.

Sharding: without ``SHARD_COUNT`` the plain client connects as one unsharded session, as a bot
in fewer than ~2,500 servers does. With it, the sharded client runs the shards in ``SHARD_IDS``
(every shard when empty) in this process; other processes run the rest (see README "Running
several processes"). Discord routes each guild's events to shard ``(guild_id >> 22) % count``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import discord
import yarl
from discord.ext import commands

from bot.admin import AdminService
from bot.config import Settings
from bot.copytrading.service import CopyTradingService
from bot.leaderboard.service import LeaderboardService
from bot.markets.prices import PriceService
from bot.markets.service import MarketService
from bot.render.chart_cache import ChartRenderer
from bot.signals.labels import LabelService
from bot.signals.service import SignalService
from bot.trackrecord.service import TrackRecordService
from bot.traders.profiles import ProfileService
from bot.traders.resolve import TraderDirectory
from bot.trades.follows import FollowService
from bot.tree import BotTree
from db import leaderboard_queries

log = logging.getLogger(__name__)

COMMAND_TREE_KEY = "command_tree_hash"

EXTENSIONS = (
    "cogs.leaderboard",
    "cogs.admin",
    "cogs.follows",
    "cogs.traders",
    "cogs.markets",
    "cogs.copy",
    "cogs.trackrecord",
    "cogs.signals",
)


@dataclass(frozen=True)
class Services:
    """What the cogs may use: services and read models, never pools, sessions or workers."""

    settings: Settings
    leaderboard: LeaderboardService
    traders: TraderDirectory
    profiles: ProfileService
    follows: FollowService
    markets: MarketService
    prices: PriceService
    copytrading: CopyTradingService
    admin: AdminService
    charts: ChartRenderer
    track_record: TrackRecordService
    signals: SignalService
    labels: LabelService


@dataclass(frozen=True)
class CommandSyncState:
    """Where the last synced command tree's digest is kept (Discord rate-limits syncs)."""

    load: Callable[[], Awaitable[str | None]]
    save: Callable[[str], Awaitable[None]]

    @classmethod
    def in_database(cls, pool: asyncpg.Pool) -> CommandSyncState:
        """Kept in PostgreSQL's bot_state, so a restart with the same commands syncs nothing."""

        async def load() -> str | None:
            async with pool.acquire() as conn:
                return await leaderboard_queries.get_state(conn, COMMAND_TREE_KEY)

        async def save(digest: str) -> None:
            async with pool.acquire() as conn:
                await leaderboard_queries.set_state(conn, COMMAND_TREE_KEY, digest)

        return cls(load, save)


def apply_discord_overrides(settings: Settings) -> None:
    """Point discord.py at a local fake or proxy (DISCORD_API_BASE / DISCORD_GATEWAY_URL)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class PolymarketBot(commands.Bot):
    def __init__(self, services: Services, sync_state: CommandSyncState, **sharding: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=BotTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **sharding,
        )
        self.services = services
        self.settings = services.settings
        self._sync_state = sync_state

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync only when the command tree changed since the last sync (Discord rate-limits it)."""
        guild_ids = self.settings.guild_ids
        guilds = [discord.Object(gid) for gid in guild_ids]
        for guild in guilds:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        digest_source = json.dumps(
            {"app": self.application_id, "commands": payload, "guilds": sorted(guild_ids)},
            sort_keys=True,
        )
        digest = hashlib.sha256(digest_source.encode()).hexdigest()
        if await self._sync_state.load() == digest:
            log.info("command tree unchanged; not syncing")
            return
        if guilds:
            for guild in guilds:
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        await self._sync_state.save(digest)
        log.info("synced %d commands to %s", len(payload), guild_ids or "all guilds")

    def gateway_problem(self) -> str | None:
        """Why this process's gateway sessions are not serving, or None when they are."""
        if self.is_closed():
            return "the client is closed"
        if not self.is_ready():
            return "not connected yet"
        if self.ws is None or not self.ws.open:
            return "the gateway connection is down"
        return None

    async def close(self) -> None:
        for extension in list(self.extensions):
            try:
                await self.unload_extension(extension)
            except Exception:
                log.exception("unloading %s failed", extension)
        await super().close()


class ShardedPolymarketBot(PolymarketBot, commands.AutoShardedBot):
    """``SHARD_COUNT`` is set: discord.py's sharded client (``commands.Bot`` adds nothing of its
    own, so this is the sharded client with the methods above)."""

    def gateway_problem(self) -> str | None:
        if self.is_closed() or not self.is_ready():
            return super().gateway_problem()
        down = sorted(shard_id for shard_id, shard in self.shards.items() if shard.is_closed())
        return f"shards {down} are disconnected" if down else None


def build_bot(services: Services, sync_state: CommandSyncState) -> PolymarketBot:
    """The plain client, or the sharded one when ``SHARD_COUNT`` is set."""
    settings = services.settings
    if settings.shard_count is None:
        return PolymarketBot(services, sync_state)
    return ShardedPolymarketBot(
        services,
        sync_state,
        shard_count=settings.shard_count,
        shard_ids=list(settings.shard_ids) or None,
    )
