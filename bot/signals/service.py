"""Signals: which stored trades become fresh-wallet, smart-money or consensus alerts, and where.

The stream asks ``wants(wallet, usd)`` for every platform trade, so the decision it needs is
kept in memory: the smallest fresh-wallet threshold, and the wallets of the week's top copy
scores (refreshed from the leaderboard every few seconds). What needs Polymarket (a wallet's
age, a market's categories) is learnt in ``prepare`` before a batch is stored, with a time
limit so a slow upstream costs a signal, never the follows in the same batch. Signal targets
are then added in the transaction that stores the trades, so a trade and every alert it makes
are written together, once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence

import asyncpg

from bot.database import DatabaseGuard, DatabaseUnavailable
from bot.events import ChannelDisabled, EventBus, SignalsChanged
from bot.leaderboard.service import LeaderboardService
from bot.polymarket.records import CONDITION_RE, Trade
from bot.signals import consensus
from bot.signals.learnt import LearntOnce
from bot.signals.models import (
    CONSENSUS_TOP,
    CONSENSUS_WINDOW,
    SIGNAL_KINDS,
    SMART_TOP,
    MarketFacts,
    SignalWatch,
    WalletAge,
)
from bot.trades.follows import FollowService
from bot.trades.models import Target
from db import signal_queries as queries
from db.pool import Connection

log = logging.getLogger(__name__)

# One card per trade and channel: when several kinds want the same channel, the first wins.
PRECEDENCE = ("consensus", "follow", "smart", "fresh", "whale")
_RANK = {kind: n for n, kind in enumerate(PRECEDENCE)}
NO_CATEGORIES: frozenset[str] = frozenset()


def merge_target(targets: list[Target], extra: Target) -> None:
    """Add ``extra`` unless its channel already has a kind that comes first."""
    for index, existing in enumerate(targets):
        if existing.channel_id == extra.channel_id:
            if _RANK.get(extra.kind, 99) < _RANK.get(existing.kind, 99):
                targets[index] = extra
            return
    targets.append(extra)


class PreparedSignals:
    """What ``prepare`` learnt for one batch: market categories and which wallets are fresh."""

    def __init__(
        self,
        service: SignalService,
        facts: dict[str, MarketFacts],
        fresh: dict[str, float],
    ) -> None:
        self._service = service
        self._facts = facts
        self.fresh = fresh  # wallet -> account age in days, for fresh wallets only

    def categories(self, trade: Trade) -> frozenset[str]:
        found = self._facts.get(trade.condition_id)
        return found.categories if found is not None else NO_CATEGORIES

    async def add_targets(
        self, conn: Connection, trades: Sequence[Trade], targets: dict[str, list[Target]]
    ) -> None:
        """Add this batch's signal targets to ``targets`` (trade key -> targets), inside the
        transaction that stores the trades."""
        service = self._service
        for trade in trades:
            found = targets.setdefault(trade.key, [])
            for target in service.instant_targets(trade, self.categories(trade), self.fresh):
                merge_target(found, target)
        await service.consensus_targets(conn, trades, self, targets)


class SignalService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: EventBus,
        leaderboard: LeaderboardService,
        ages: LearntOnce[WalletAge],
        facts: LearntOnce[MarketFacts],
        *,
        follows: FollowService | None = None,
        database: DatabaseGuard | None = None,
        fresh_days: float = 14.0,
        prepare_timeout: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._leaderboard = leaderboard
        self._follows = follows
        self._db = database or DatabaseGuard()  # commands' reads and writes: bounded
        self.ages = ages
        self.facts = facts
        self.fresh_seconds = fresh_days * 86_400.0
        self._timeout = prepare_timeout
        self._clock = clock
        self._watches: dict[tuple[int, str], SignalWatch] = {}
        self._by_kind: dict[str, tuple[SignalWatch, ...]] = {kind: () for kind in SIGNAL_KINDS}
        self.fresh_min = math.inf
        self._by_category = False
        self.smart: dict[str, tuple[int, str]] = {}  # wallet -> (rank, name), top 25
        self.top: dict[str, tuple[int, str]] = {}  # top 50, for consensus
        self._wallets: frozenset[str] = frozenset()
        self._board_seen: object = None
        self.fired: Counter[str] = Counter()
        self.undecided = 0  # batches whose lookups did not finish in time
        bus.subscribe(SignalsChanged, self._on_changed, remote_only=True)
        bus.subscribe(ChannelDisabled, self._on_channel_disabled)

    # ---- memory ---------------------------------------------------------------------------------

    async def load(self) -> None:
        async with self._pool.acquire() as conn:
            watches = await queries.all_signal_watches(conn)
        self._rebuild(watches)
        self.refresh_boards()
        log.info("loaded %d signal watches", len(watches))

    def _rebuild(self, watches: Sequence[SignalWatch]) -> None:
        self._watches = {(w.guild_id, w.kind): w for w in watches}
        enabled = [w for w in watches if w.enabled]
        self._by_kind = {kind: tuple(w for w in enabled if w.kind == kind) for kind in SIGNAL_KINDS}
        self.fresh_min = min((w.min_usd for w in self._by_kind["fresh"]), default=math.inf)
        self._by_category = any(w.category for w in enabled)
        self._rebuild_wallets()

    def _rebuild_wallets(self) -> None:
        wallets: set[str] = set()
        if self._by_kind["smart"]:
            wallets |= self.smart.keys()
        if self._by_kind["consensus"]:
            wallets |= self.top.keys()
        self._wallets = frozenset(wallets)

    def refresh_boards(self) -> bool:
        """Take the top of the week's copy-score board when it changed; True if it did."""
        board = self._leaderboard.board("week")
        if board is None or board is self._board_seen:
            return False
        self._board_seen = board
        ranked = board.by_metric["score"][:CONSENSUS_TOP]
        self.top = {e.wallet: (rank, e.user_name) for rank, e in enumerate(ranked, 1)}
        self.smart = {w: v for w, v in self.top.items() if v[0] <= SMART_TOP}
        self._rebuild_wallets()
        return True

    async def refresh(self) -> int:
        """The "signal-boards" loop: follow the leaderboard; returns the top traders watched."""
        self.refresh_boards()
        return len(self._wallets)

    # ---- the hot path (every platform trade) ----------------------------------------------------

    def wants(self, wallet: str, usd: float) -> bool:
        """A top trader's trade, or one big enough for a fresh signal by a wallet not already
        known to be old (most big trades come from wallets seen before: dropped here)."""
        if wallet in self._wallets:
            return True
        if usd < self.fresh_min:
            return False
        age = self.ages.peek(wallet)
        return age is None or self._clock() - age.created_at < self.fresh_seconds

    # ---- before storing a batch -----------------------------------------------------------------

    def _category_matters(self, trade: Trade) -> bool:
        """Whether a category filter could decide one of this trade's alerts."""
        if self._by_category and (trade.wallet in self._wallets or trade.usd >= self.fresh_min):
            return True
        return self._follows is not None and self._follows.filters_by_category(trade)

    async def prepare(self, trades: Sequence[Trade]) -> PreparedSignals:
        """Learn, within the time limit, the categories of the markets a category filter may
        decide on and the ages of wallets big enough for a fresh signal; what is not known by
        then counts as unknown. Other markets are learnt in the background (for the cards)."""
        markets = {t.condition_id for t in trades if CONDITION_RE.match(t.condition_id)}
        needed = {t.condition_id for t in trades if self._category_matters(t)} & markets
        self.facts.learn_soon(markets - needed)
        wallets = {t.wallet for t in trades if t.usd >= self.fresh_min}
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.gather(self.facts.get_many(needed), self.ages.get_many(wallets))
        except TimeoutError:
            self.undecided += 1
            log.warning("market tags or wallet ages not learnt in time for %d trades", len(trades))
        except Exception as exc:  # PostgreSQL or a bug: the follows of the batch still go
            self.undecided += 1
            log.warning("signal lookups failed: %s", exc)
        facts = {cid: found for cid in markets if (found := self.facts.peek(cid)) is not None}
        now = self._clock()
        fresh: dict[str, float] = {}
        for wallet in wallets:
            age = self.ages.peek(wallet)
            if age is not None and now - age.created_at < self.fresh_seconds:
                fresh[wallet] = max(0.0, now - age.created_at) / 86_400.0
        return PreparedSignals(self, facts, fresh)

    # ---- targets (inside the storing transaction) -----------------------------------------------

    def instant_targets(
        self, trade: Trade, categories: frozenset[str], fresh: dict[str, float]
    ) -> list[Target]:
        """Fresh-wallet and smart-money targets of one trade (consensus needs the database)."""
        found: list[Target] = []
        if trade.wallet in fresh:
            for watch in self._by_kind["fresh"]:
                if watch.accepts(trade, categories):
                    found.append(Target(watch.channel_id, watch.guild_id, "fresh", None))
        if trade.wallet in self.smart:
            for watch in self._by_kind["smart"]:
                if watch.accepts(trade, categories):
                    found.append(Target(watch.channel_id, watch.guild_id, "smart", None))
        return found

    async def consensus_targets(
        self,
        conn: Connection,
        trades: Sequence[Trade],
        prepared: PreparedSignals,
        targets: dict[str, list[Target]],
    ) -> None:
        """Fire consensus alerts completed by these (new) trades; recorded with them."""
        watches = self._by_kind["consensus"]
        if not watches:
            return
        triggers: dict[str, Trade] = {}
        for trade in trades:
            if trade.side == "BUY" and trade.wallet in self.top:
                latest = triggers.get(trade.asset)
                if latest is None or trade.timestamp >= latest.timestamp:
                    triggers[trade.asset] = trade
        for asset in sorted(triggers):  # one lock order, so two writers cannot deadlock
            trigger = triggers[asset]
            await queries.lock_outcome(conn, asset)
            since = trigger.timestamp - CONSENSUS_WINDOW
            buys = await queries.consensus_buys(
                conn, asset, list(self.top), since, trigger.timestamp
            )
            recent = await queries.recent_consensus_channels(conn, asset, since)
            fires = consensus.firing(
                watches,
                consensus.participants_of(buys, self.top),
                trigger,
                prepared.categories(trigger),
                recent,
            )
            rows = [
                (w.channel_id, w.guild_id, asset, trigger.key, trigger.timestamp,
                 [{"wallet": p.wallet, "name": p.name, "rank": p.rank, "usd": p.usd,
                   "shares": p.shares} for p in people])
                for w, people in fires
            ]  # fmt: skip
            await queries.record_consensus(conn, rows)
            for watch, _ in fires:
                merge_target(
                    targets.setdefault(trigger.key, []),
                    Target(watch.channel_id, watch.guild_id, "consensus", None),
                )
            self.fired["consensus"] += len(fires)

    # ---- changes (commands, failed channels, other processes) -----------------------------------

    async def set_watch(
        self,
        *,
        guild_id: int,
        kind: str,
        channel_id: int,
        min_usd: float,
        category: str | None,
        user_id: int,
    ) -> SignalWatch | None:
        """Turn a kind on (or move it) in a server; ``min_usd`` 0 turns it off (None)."""

        async def save() -> SignalWatch | None:
            async with self._pool.acquire() as conn:
                if min_usd <= 0:
                    await queries.delete_signal_watch(conn, guild_id, kind)
                    return None
                return await queries.upsert_signal_watch(
                    conn,
                    guild_id=guild_id,
                    kind=kind,
                    channel_id=channel_id,
                    min_usd=min_usd,
                    category=category,
                    created_by=user_id,
                )

        watch = await self._db.run(save, "saving a signal watch")
        watches = {k: w for k, w in self._watches.items() if k != (guild_id, kind)}
        if watch is not None:
            watches[(guild_id, kind)] = watch
        self._rebuild(list(watches.values()))
        self._bus.publish(SignalsChanged(guild_id=guild_id))
        return watch

    async def _on_changed(self, event: SignalsChanged) -> None:
        await self.load()

    async def _on_channel_disabled(self, event: ChannelDisabled) -> None:
        async with self._pool.acquire() as conn:
            count = await queries.disable_signal_channel(conn, event.channel_id, event.reason)
        if count:
            await self.load()
            self._bus.publish(SignalsChanged(guild_id=0))  # other processes reload too
            log.warning(
                "disabled %d signals in channel %s: %s", count, event.channel_id, event.reason
            )

    def platform_min_usd(self) -> float:
        """The smallest trade any signal watch wants (inf when none): after a gap in the stream
        the reconciler recovers platform trades from this size up, so signals are not lost."""
        return min((w.min_usd for ws in self._by_kind.values() for w in ws), default=math.inf)

    def figures(self) -> dict[str, int]:
        """What /admin status shows of signals."""
        return {
            "watches": sum(len(w) for w in self._by_kind.values()),
            "top traders watched": len(self._wallets),
            "consensus fired": self.fired["consensus"],
            "wallet lookups": self.ages.stats.lookups,
            "market lookups": self.facts.stats.lookups,
            "lookup failures": self.ages.stats.failures + self.facts.stats.failures,
            "late batches": self.undecided,
        }

    async def guild_watches(
        self, guild_id: int
    ) -> tuple[list[SignalWatch], dict[tuple[int, str], int]]:
        """A server's signal watches and the signal alerts sent per (channel, kind); from memory
        (enabled ones, no counts) when PostgreSQL does not answer in time."""

        async def load() -> tuple[list[SignalWatch], dict[tuple[int, str], int]]:
            async with self._pool.acquire() as conn:
                watches = await queries.guild_signal_watches(conn, guild_id)
                counts = await queries.signal_alert_counts(conn, guild_id)
            return watches, counts

        try:
            return await self._db.run(load, "/alerts signals")
        except DatabaseUnavailable:
            return [w for (g, _), w in self._watches.items() if g == guild_id], {}

    async def close(self) -> None:
        await self.ages.close()
        await self.facts.close()
