"""What an alert card says besides its trades, gathered when the card is sent.

From memory: the trader's standing on the leaderboard and win rate, the server's label for the
wallet, the market's icon and tick size, a fresh wallet's age. From PostgreSQL: the position
change (see bot/signals/positions.py) and a consensus alert's traders. The current price comes
from the price service, which gives up after half a second rather than delay the alert. Every
part is optional: a part that fails is left off the card, and the card still goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import asyncpg

from bot.cache import HotCache, TTLCache
from bot.events import EventBus, FollowAdded
from bot.leaderboard.service import LeaderboardService
from bot.markets.prices import PriceService
from bot.signals.labels import LabelService
from bot.signals.learnt import LearntOnce
from bot.signals.models import (
    CardContext,
    ConsensusParticipant,
    MarketFacts,
    PositionChange,
    Standing,
    WalletAge,
)
from bot.signals.positions import position_change
from bot.traders.profiles import ProfileService
from bot.trades.cards import AlertCard
from db import signal_queries as queries

log = logging.getLogger(__name__)

STANDING_PERIODS = ("week", "month", "all")  # the first one a trader is ranked in is shown
FACTS_WAIT = 0.1  # seconds a card waits for a market's tags still being learnt


class CardContexts:
    def __init__(
        self,
        pool: asyncpg.Pool,
        leaderboard: LeaderboardService,
        prices: PriceService,
        labels: LabelService,
        facts: LearntOnce[MarketFacts],
        ages: LearntOnce[WalletAge],
        cache: HotCache,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._leaderboard = leaderboard
        self._prices = prices
        self._labels = labels
        self._facts = facts
        self._ages = ages
        self._clock = clock
        # one trader's card fanned out to many channels reads the position once
        self._positions: TTLCache[PositionChange | None] = cache.ttl_cache(
            "card-positions", ttl=30.0, max_size=5_000
        )
        self._guilds: dict[int, int] = {}

    async def build(self, channel_id: int, cards: Sequence[AlertCard]) -> list[CardContext]:
        guild_id = await self._guild_of(channel_id)
        return list(await asyncio.gather(*(self._one(channel_id, guild_id, c) for c in cards)))

    async def _one(self, channel_id: int, guild_id: int | None, card: AlertCard) -> CardContext:
        trade = card.first
        standing, win_rate = self.standing(trade.wallet)
        price, position, facts, participants = await asyncio.gather(
            self._prices.midpoint(trade.asset),
            self._position(card),
            self._market(trade.condition_id),
            self._participants(card, channel_id),
        )
        age = self._ages.peek(trade.wallet) if card.kind == "fresh" else None
        return CardContext(
            standing=standing,
            win_rate=win_rate,
            current_price=price,
            tick_size=facts.tick_size if facts else None,
            label=self._labels.label(guild_id, trade.wallet),
            position=position,
            icon=facts.icon if facts else "",
            account_age_days=(
                max(0.0, self._clock() - age.created_at) / 86_400.0 if age is not None else None
            ),
            participants=participants,
        )

    def standing(self, wallet: str) -> tuple[Standing | None, float | None]:
        """The first board the trader is ranked on (by copy score), and their win rate."""
        standing = None
        for period in STANDING_PERIODS:
            found = self._leaderboard.entry(wallet, period)
            if found is not None:
                rank, entry = found
                standing = Standing(period, rank, entry.pnl, entry.score)
                break
        stats = self._leaderboard.stats.stats.get(wallet)
        win_rate = stats.wins / stats.closed_count if stats and stats.closed_count else None
        return standing, win_rate

    async def _guild_of(self, channel_id: int) -> int | None:
        """A channel's server never changes: kept once known (an unknown one is asked again)."""
        if channel_id not in self._guilds:
            try:
                async with self._pool.acquire() as conn:
                    found = await queries.guild_of_channel(conn, channel_id)
            except Exception as exc:
                log.debug("server of channel %s unknown: %s", channel_id, exc)
                return None
            if found is None:
                return None
            self._guilds[channel_id] = found
        return self._guilds[channel_id]

    async def _position(self, card: AlertCard) -> PositionChange | None:
        if card.kind == "consensus":
            return None
        trade = card.first

        async def load() -> PositionChange | None:
            async with self._pool.acquire() as conn:
                history = await queries.position_history(conn, trade.wallet, trade.asset)
            return position_change(history, card.trades)

        key = f"{trade.wallet}:{trade.asset}:{trade.key}:{len(card.trades)}"
        try:
            return await self._positions.get(key, load)
        except Exception as exc:
            log.debug("position of %s unknown: %s", trade.wallet, exc)
            return None

    async def _market(self, condition_id: str) -> MarketFacts | None:
        known = self._facts.peek(condition_id)
        if known is not None or not condition_id:
            return known
        try:
            found = await asyncio.wait_for(self._facts.get_many([condition_id]), FACTS_WAIT)
        except Exception:
            return self._facts.peek(condition_id)
        return found.get(condition_id)

    async def _participants(
        self, card: AlertCard, channel_id: int
    ) -> tuple[ConsensusParticipant, ...]:
        if card.kind != "consensus":
            return ()
        try:
            async with self._pool.acquire() as conn:
                return await queries.consensus_participants(conn, card.first.key, channel_id)
        except Exception as exc:
            log.debug("consensus traders of %s unknown: %s", card.first.key, exc)
            return ()


class FollowedPositions:
    """A newly followed wallet's open positions are read once, so its cards can tell a new
    position from an added one; its stored trades carry the position forward from there."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        profiles: ProfileService,
        bus: EventBus,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._profiles = profiles
        self._clock = clock
        bus.subscribe(FollowAdded, self._on_follow)

    async def _on_follow(self, event: FollowAdded) -> None:
        started = self._clock()
        if await self._profiles.sync_positions([event.wallet]):
            async with self._pool.acquire() as conn:
                await queries.record_position_sync(conn, event.wallet, started)
