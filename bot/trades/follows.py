"""Who wants which trades: follows (one wallet, one channel) and whale watches (any wallet).

The stream asks ``wants(wallet, usd)`` for every trade on the platform (tens per second), so
the enabled follows are indexed by wallet in memory: one dict lookup and one comparison.
PostgreSQL stays the source of truth; the index is built from it on start, in batches that give
the event loop back between them, and every later change (a follow, an unfollow, a channel
disabled) updates only the entries it touches: with 100,000 follows a change costs
microseconds, not a reload.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable

import asyncpg

from bot.database import DatabaseGuard, DatabaseUnavailable
from bot.events import ChannelDisabled, EventBus, FollowAdded, FollowsChanged
from bot.polymarket.records import Trade
from bot.trades.models import Follow, Target, WhaleWatch
from db import follow_queries as queries

log = logging.getLogger(__name__)


LOAD_BATCH = 5_000  # follows indexed between two yields to the event loop


class FollowService:
    def __init__(
        self, pool: asyncpg.Pool, bus: EventBus, *, database: DatabaseGuard | None = None
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._db = database or DatabaseGuard()  # commands' reads and writes: bounded
        self._by_wallet: dict[str, list[Follow]] = {}
        self._by_channel: dict[int, set[str]] = {}  # wallets followed (enabled) per channel
        self._whales: dict[int, WhaleWatch] = {}
        self._whales_by_min: tuple[WhaleWatch, ...] = ()  # smallest threshold first
        self.whale_min = math.inf
        self._category_whale_min = math.inf  # smallest threshold of a category-filtered watch

    async def load(self) -> None:
        """Build the index from PostgreSQL in batches, then swap it in at once."""
        by_wallet: dict[str, list[Follow]] = {}
        by_channel: dict[int, set[str]] = {}
        loaded = 0
        async with self._pool.acquire() as conn:
            async for batch in queries.follows_in_batches(conn, LOAD_BATCH):
                _index(batch, by_wallet, by_channel)
                loaded += len(batch)
                await asyncio.sleep(0)
            whales = await queries.all_whales(conn)
        self._by_wallet, self._by_channel = by_wallet, by_channel
        self._set_whales(w for w in whales if w.enabled)
        log.info("loaded %d follows and %d whale watches", loaded, len(whales))

    def _rebuild(self, follows: Iterable[Follow], whales: Iterable[WhaleWatch]) -> None:
        """The index from these rows at once (benchmarks and unit tests build it this way)."""
        by_wallet: dict[str, list[Follow]] = {}
        by_channel: dict[int, set[str]] = {}
        _index(follows, by_wallet, by_channel)
        self._by_wallet, self._by_channel = by_wallet, by_channel
        self._set_whales(w for w in whales if w.enabled)

    def _set_whales(self, whales: Iterable[WhaleWatch]) -> None:
        """What the hot path asks of the watches, worked out once per change rather than per
        trade: the watches by threshold (a trade stops at the first it is too small for) and
        the smallest thresholds."""
        self._whales = {w.channel_id: w for w in whales}
        self._whales_by_min = tuple(sorted(self._whales.values(), key=lambda w: w.min_usd))
        self.whale_min = self._whales_by_min[0].min_usd if self._whales_by_min else math.inf
        self._category_whale_min = min(
            (w.min_usd for w in self._whales_by_min if w.category), default=math.inf
        )

    # ---- the hot path (every platform trade) ----------------------------------------------------

    def wants(self, wallet: str, usd: float) -> bool:
        return wallet in self._by_wallet or usd >= self.whale_min

    def is_followed(self, wallet: str) -> bool:
        return wallet in self._by_wallet

    def targets(self, trade: Trade, categories: frozenset[str] = frozenset()) -> list[Target]:
        """``categories``: the trade's market's categories, for category-filtered follows."""
        found: dict[int, Target] = {}
        for follow in self._by_wallet.get(trade.wallet, ()):
            if follow.accepts(trade, categories):
                found[follow.channel_id] = Target(
                    follow.channel_id, follow.guild_id, "follow", follow.id
                )
        for whale in self._whales_by_min:
            if not trade.usd >= whale.min_usd:
                break  # nor any watch after it: they are sorted by threshold
            if whale.channel_id not in found and whale.accepts(trade, categories):
                found[whale.channel_id] = Target(whale.channel_id, whale.guild_id, "whale", None)
        return list(found.values())

    def filters_by_category(self, trade: Trade) -> bool:
        """Whether a category filter could decide this trade's alerts, so its market's
        categories are worth waiting for before it is stored."""
        if any(f.category for f in self._by_wallet.get(trade.wallet, ())):
            return True
        return trade.usd >= self._category_whale_min

    def followed_wallets(self) -> list[str]:
        return list(self._by_wallet)

    def follows_of(self, wallet: str) -> list[Follow]:
        return list(self._by_wallet.get(wallet, ()))

    # ---- changes (commands, failed channels) -------------------------------------------------

    async def follow(
        self,
        *,
        guild_id: int,
        channel_id: int,
        wallet: str,
        label: str,
        min_usd: float,
        side: str,
        user_id: int,
        category: str | None = None,
    ) -> Follow:
        async def save() -> Follow:
            async with self._pool.acquire() as conn:
                return await queries.upsert_follow(
                    conn,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    wallet=wallet,
                    label=label,
                    min_usd=min_usd,
                    side=side,
                    created_by=user_id,
                    category=category,
                )

        follow = await self._db.run(save, "saving a follow")
        self.index_follow(follow)
        self._bus.publish(FollowAdded(wallet=wallet, channel_id=channel_id))
        self._bus.publish(FollowsChanged(channel_id=channel_id))  # every process's index
        return follow

    async def unfollow(self, channel_id: int, wallet: str) -> bool:
        async def delete() -> bool:
            async with self._pool.acquire() as conn:
                return await queries.delete_follow(conn, channel_id, wallet)

        removed = await self._db.run(delete, "removing a follow")
        self.unindex_follow(channel_id, wallet)
        self._bus.publish(FollowsChanged(channel_id=channel_id))
        return removed

    async def set_whales(
        self,
        *,
        guild_id: int,
        channel_id: int,
        min_usd: float,
        include_near_certain: bool,
        user_id: int,
        category: str | None = None,
    ) -> WhaleWatch | None:
        """min_usd 0 turns the watch off (and returns None)."""

        async def save() -> WhaleWatch | None:
            async with self._pool.acquire() as conn:
                if min_usd <= 0:
                    await queries.delete_whales(conn, channel_id)
                    return None
                return await queries.upsert_whales(
                    conn,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    min_usd=min_usd,
                    include_near_certain=include_near_certain,
                    created_by=user_id,
                    category=category,
                )

        watch = await self._db.run(save, "saving a whale watch")
        self.index_whales(channel_id, watch)
        self._bus.publish(FollowsChanged(channel_id=channel_id))
        return watch

    async def disable_channel(self, channel_id: int, reason: str) -> int:
        """The bot can no longer post there: stop alerting, and say why in /alerts."""
        async with self._pool.acquire() as conn:
            count = await queries.disable_channel(conn, channel_id, reason)
        self.unindex_channel(channel_id)
        self._bus.publish(FollowsChanged(channel_id=channel_id))
        log.warning("disabled %d follows/watches in channel %s: %s", count, channel_id, reason)
        self._bus.publish(ChannelDisabled(channel_id=channel_id, reason=reason))
        return count

    async def guild_overview(self, guild_id: int) -> tuple[list[Follow], list[WhaleWatch]]:
        """This server's follows and watches; from the in-memory index (enabled ones only,
        no counts) when PostgreSQL does not answer in time (``from_memory`` then says so)."""

        async def load() -> tuple[list[Follow], list[WhaleWatch]]:
            async with self._pool.acquire() as conn:
                follows = await queries.guild_follows(conn, guild_id)
                whales = await queries.guild_whales(conn, guild_id)
            return follows, whales

        try:
            return await self._db.run(load, "/alerts")
        except DatabaseUnavailable:
            follows = [f for fs in self._by_wallet.values() for f in fs if f.guild_id == guild_id]
            whales = [w for w in self._whales.values() if w.guild_id == guild_id]
            return follows, whales

    @property
    def from_memory(self) -> bool:
        """PostgreSQL is not answering commands: listings come from memory."""
        return self._db.unavailable

    # ---- incremental index changes (also for changes made by another process) ---------------

    def index_follow(self, follow: Follow) -> None:
        """Add or replace one follow (a disabled one is removed)."""
        self.unindex_follow(follow.channel_id, follow.wallet)
        if follow.enabled:
            _index((follow,), self._by_wallet, self._by_channel)

    def unindex_follow(self, channel_id: int, wallet: str) -> None:
        follows = self._by_wallet.get(wallet)
        if follows is not None:
            remaining = [f for f in follows if f.channel_id != channel_id]
            if remaining:
                self._by_wallet[wallet] = remaining
            else:
                del self._by_wallet[wallet]
        wallets = self._by_channel.get(channel_id)
        if wallets is not None:
            wallets.discard(wallet)
            if not wallets:
                del self._by_channel[channel_id]

    def index_whales(self, channel_id: int, watch: WhaleWatch | None) -> None:
        """Set (or, with None, remove) a channel's whale watch."""
        whales = {c: w for c, w in self._whales.items() if c != channel_id}
        if watch is not None and watch.enabled:
            whales[channel_id] = watch
        self._set_whales(whales.values())

    def unindex_channel(self, channel_id: int) -> None:
        """Every follow and the whale watch of a channel: only its entries are touched."""
        for wallet in list(self._by_channel.get(channel_id, ())):
            self.unindex_follow(channel_id, wallet)
        if channel_id in self._whales:
            self.index_whales(channel_id, None)


def _index(
    follows: Iterable[Follow], by_wallet: dict[str, list[Follow]], by_channel: dict[int, set[str]]
) -> None:
    for follow in follows:
        if follow.enabled:
            by_wallet.setdefault(follow.wallet, []).append(follow)
            by_channel.setdefault(follow.channel_id, set()).add(follow.wallet)
