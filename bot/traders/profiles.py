"""Trader profiles for /trader: built from PostgreSQL, fetched upstream only when unknown or old.

Ranked traders' details already arrive with every leaderboard refresh (the stats store hands
them here), so their profiles cost no extra upstream call. An unknown wallet is fetched once
(three Data API calls), coalesced across concurrent lookups, stored, and cached for
TRADER_CACHE_TTL_SECONDS with stale-while-revalidate; a trade of that trader invalidates it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from bot.cache import CacheStats, HotCache, TTLCache
from bot.database import DatabaseGuard, DatabaseUnavailable
from bot.events import EventBus, TradesStored
from bot.failures import FailureTally
from bot.leaderboard.evidence import EvidenceStatus
from bot.leaderboard.models import PERIODS
from bot.leaderboard.scoring import ScoreBreakdown, TraderStats, copy_score, summarize
from bot.leaderboard.service import LeaderboardService
from bot.leaderboard.stats_store import fetch_details
from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import UpstreamError
from bot.polymarket.records import Activity, ClosedPosition, Position
from bot.trackrecord.models import TrackRecordSummary
from bot.traders.models import DailyStat, Standing, StoredTrader, TraderProfile
from db import profile_queries as queries

log = logging.getLogger(__name__)

AlertRecord = Callable[[str], Awaitable[TrackRecordSummary]]
TOP_POSITIONS = 5
TOP_TRADERS = 50  # the traders whose positions and daily statistics loops keep current
LATEST_TRADES = 5
DAY = 86_400.0


def daily_stats(
    closed: Sequence[ClosedPosition],
    activity: Sequence[Activity],
    *,
    closed_limit: int,
    activity_limit: int,
) -> dict[date, tuple[float, float, int]]:
    """Per-day (realized PnL, volume, trades) from one page of each; a day cut by the page's
    end is left out, so an upsert never replaces a full day with part of it."""
    pnl: dict[date, float] = defaultdict(float)
    volume: dict[date, float] = defaultdict(float)
    trades: dict[date, int] = defaultdict(int)

    def day(ts: float) -> date:
        return datetime.fromtimestamp(ts, tz=UTC).date()

    closed_days = [day(c.timestamp) for c in closed if c.timestamp > 0]
    for c, d in zip((c for c in closed if c.timestamp > 0), closed_days, strict=True):
        pnl[d] += c.realized_pnl
    trade_rows = [a for a in activity if a.type == "TRADE" and a.timestamp > 0]
    for a in trade_rows:
        d = day(a.timestamp)
        volume[d] += a.usdc_size or a.size * a.price
        trades[d] += 1
    cut = date.min
    if len(closed) >= closed_limit and closed_days:
        cut = max(cut, min(closed_days))
    if len(activity) >= activity_limit and trade_rows:
        cut = max(cut, min(day(a.timestamp) for a in trade_rows))
    days = (set(pnl) | set(volume)) - {d for d in set(pnl) | set(volume) if d <= cut}
    return {d: (pnl.get(d, 0.0), volume.get(d, 0.0), trades.get(d, 0)) for d in sorted(days)}


def pnl_series(
    daily: Sequence[DailyStat], positions: Sequence[Position], now: float
) -> tuple[tuple[tuple[float, float], ...], float]:
    """(cumulative PnL points for the chart, realized total): one point per stored day's end,
    then now with the open positions' unrealized PnL on top."""
    series: list[tuple[float, float]] = []
    total = 0.0
    for d in daily:
        total += d.realized_pnl
        day_end = datetime(d.day.year, d.day.month, d.day.day, tzinfo=UTC)
        series.append((min(day_end.timestamp() + 86_399, now - 1), total))
    unrealized = sum(p.cash_pnl for p in positions)
    if series or unrealized:
        series.append((now, total + unrealized))
    return tuple(series), total


def _readable(stored: dict[str, Any]) -> bool:
    try:
        TraderStats.from_dict(stored)
    except (KeyError, TypeError, ValueError):
        return False
    return True


def trade_summary(a: Activity) -> dict[str, Any]:
    return {
        "timestamp": a.timestamp,
        "side": a.side,
        "outcome": a.outcome,
        "title": a.title,
        "slug": a.slug,
        "price": a.price,
        "size": a.size,
        "usd": a.usdc_size or a.size * a.price,
    }


class ProfileService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        data_api: DataAPI,
        leaderboard: LeaderboardService,
        cache: HotCache,
        bus: EventBus,
        *,
        ttl: float,
        details_ttl: float,
        alert_record: AlertRecord | None = None,
        clock: Callable[[], float] = time.time,
        database: DatabaseGuard | None = None,
    ) -> None:
        """``alert_record``: the alerts on a trader's trades and how they went (track record)."""
        self._pool = pool
        self._alert_record = alert_record
        self._api = data_api
        self._leaderboard = leaderboard
        self._db = database or DatabaseGuard()  # /trader's reads and writes: bounded
        # stale-while-revalidate for an hour: a profile a little old beats a wait on PostgreSQL
        self._cache: TTLCache[TraderProfile] = cache.ttl_cache(
            "traders", ttl=ttl, stale_ttl=3600.0, max_size=2_000
        )
        self._details_ttl = details_ttl
        self._clock = clock
        self._positions_synced_at = clock()  # when the trader-positions loop last ran
        bus.subscribe(TradesStored, self._on_trades)

    async def get(self, wallet: str) -> TraderProfile:
        """The cached profile (a stale one is served while it reloads); when PostgreSQL does
        not answer, one built from memory (not cached), else ``DatabaseUnavailable``."""
        try:
            return await self._cache.get(f"trader:{wallet}", lambda: self._load(wallet))
        except DatabaseUnavailable:
            return self._from_memory(wallet)

    @property
    def from_memory(self) -> bool:
        """PostgreSQL is not answering commands: profiles may be out of date."""
        return self._db.unavailable

    def _from_memory(self, wallet: str) -> TraderProfile:
        """What memory knows without PostgreSQL: the trader's standings and score inputs."""
        stats = self._leaderboard.stats.stats.get(wallet)
        standings = self._standings(wallet)
        if stats is None and not standings:
            raise DatabaseUnavailable(
                "The bot's database is not answering and this trader is not in memory; "
                "try again in a minute."
            )
        stats = stats or TraderStats(wallet, 0, 0, 0, 0, None, 0.0, 0, 0, 0.0, 0.0, 0.0)
        status, floor = self._evidence(stats, standings)
        basis = standings.get("week") or standings.get("all")
        pnl = basis.pnl if basis else 0.0
        return TraderProfile(
            wallet=wallet,
            name=self._leaderboard.known_traders().get(wallet, ""),
            pseudonym="",
            standings=standings,
            score=self._score(wallet, stats, standings, pnl, ())
            if status is EvidenceStatus.SCORED
            else None,
            evidence=status,
            thresholds=self._leaderboard.evidence,
            volume_recent=max(stats.volume_recent, floor),
            stats=stats,
            markets_traded=0,
            positions=(),
            latest_trades=(),
            pnl_series=(),
            details_at=self._leaderboard.stats.fetched_at.get(wallet, 0.0),
        )

    def _evidence(
        self, stats: TraderStats, standings: dict[str, Standing]
    ) -> tuple[EvidenceStatus, float]:
        """Whether the trader has a copy score, as the boards judge it (so /trader and
        /leaderboard agree), and the 90-day volume floor the boards show."""
        # a day, week or month board's volume is a lower bound of the 90-day volume
        floor = max((s.volume for p, s in standings.items() if p != "all"), default=0.0)
        status = self._leaderboard.evidence.status(stats, floor)
        if any(s.metric == "score" for s in standings.values()):
            status = EvidenceStatus.SCORED
        return status, floor

    @property
    def cache_stats(self) -> CacheStats:
        return self._cache.stats

    def forget_profiles(self) -> None:
        """Every profile is built again on its next lookup (from PostgreSQL when fresh)."""
        self._cache.clear()

    def cached(self, wallet: str) -> TraderProfile | None:
        return self._cache.peek(f"trader:{wallet}")

    def forget(self, wallets: Iterable[str]) -> None:
        """These traders traded (here or, told by the leader, elsewhere): their profiles are
        stale, served while they are rebuilt."""
        for wallet in wallets:
            self._cache.mark_stale(f"trader:{wallet}")

    async def _on_trades(self, event: TradesStored) -> None:
        """A new trade makes the profile stale, not gone: it is served while it reloads, so
        /trader never waits on (or fails with) PostgreSQL because the trader traded. Once per
        distinct wallet of the batch."""
        self.forget(event.wallets)

    async def record_details(
        self,
        wallet: str,
        positions: Sequence[Position],
        closed: Sequence[ClosedPosition],
        activity: Sequence[Activity],
        *,
        closed_limit: int = 50,
        activity_limit: int = 100,
    ) -> StoredTrader:
        """Store one detail fetch (from the leaderboard refresh or an on-demand load); returns
        the trader's row as stored.

        Three empty pages for a trader whose stored profile shows trading are a bad answer:
        ``UpstreamError``, and the stored profile stays (a profile of zeros never replaces a
        real one); PostgreSQL checks that in the write itself, with no read before it."""
        now = self._clock()
        stats = summarize(wallet, positions, closed, activity, now)
        identity = next((a for a in activity if a.name or a.pseudonym), None)
        markets = {p.condition_id for p in positions} | {c.condition_id for c in closed}
        markets |= {a.condition_id for a in activity}
        markets.discard("")
        trades = sorted((a for a in activity if a.type == "TRADE"), key=lambda a: -a.timestamp)
        async with self._pool.acquire() as conn:
            stored = await queries.record_trader(
                conn,
                wallet=wallet,
                user_name=identity.name if identity else "",
                pseudonym=identity.pseudonym if identity else "",
                profile_image=identity.profile_image if identity else "",
                stats=stats.to_dict(),
                latest_trades=[trade_summary(a) for a in trades[:LATEST_TRADES]],
                markets_traded=len(markets),
                details_at=now,
                positions=positions,
                daily=daily_stats(
                    closed, activity, closed_limit=closed_limit, activity_limit=activity_limit
                ),
                details_empty=not (positions or closed or activity),
            )
        if stored is None:
            raise UpstreamError("data:details", f"empty details for {wallet}; kept the stored")
        self._cache.mark_stale(f"trader:{wallet}")  # served while it reloads
        return stored

    async def _stored(self, wallet: str) -> StoredTrader | None:
        async with self._pool.acquire() as conn:
            return await queries.load_trader(conn, wallet)

    def _fresh_enough(self, row: StoredTrader) -> bool:
        """Details recent enough to show, in a shape this version reads (stats stored by an
        older version are fetched again)."""
        return (
            row.details_at is not None
            and self._clock() - row.details_at < self._details_ttl
            and _readable(row.stats)
        )

    async def _load(self, wallet: str) -> TraderProfile:
        """The stored row is read once: a fetch stores the details and hands back the row."""
        row = await self._db.run(lambda: self._stored(wallet), "/trader")
        if row is not None and self._fresh_enough(row):
            return await self._build(wallet, row)
        try:
            positions, closed, activity = await fetch_details(self._api, wallet)
            row = await self._db.run(
                lambda: self.record_details(wallet, positions, closed, activity),
                "storing a trader profile",
            )
        except UpstreamError:
            if row is None or not _readable(row.stats):
                raise  # nothing stored to show instead
            log.warning("profile of %s served from older stored details", wallet)
        return await self._build(wallet, row)

    async def _build(self, wallet: str, row: StoredTrader) -> TraderProfile:
        async def read() -> tuple[list[Position], list[DailyStat], TrackRecordSummary | None]:
            async with self._pool.acquire() as conn:
                positions = await queries.load_positions(conn, wallet)
                daily = await queries.load_daily(conn, wallet)
            alerts = await self._alert_record(wallet) if self._alert_record is not None else None
            return positions, daily, alerts

        # one deadline for every read, the alert record's too
        positions, daily, alerts = await self._db.run(read, "/trader")
        stats = TraderStats.from_dict(row.stats)
        standings = self._standings(wallet)
        series, realized = pnl_series(daily, positions, self._clock())
        unrealized = sum(p.cash_pnl for p in positions)
        status, floor = self._evidence(stats, standings)
        return TraderProfile(
            wallet=wallet,
            name=row.user_name or self._leaderboard.known_traders().get(wallet, ""),
            pseudonym=row.pseudonym,
            standings=standings,
            score=self._score(wallet, stats, standings, realized + unrealized, daily)
            if status is EvidenceStatus.SCORED
            else None,
            evidence=status,
            thresholds=self._leaderboard.evidence,
            volume_recent=max(stats.volume_recent, floor),
            stats=stats,
            markets_traded=row.markets_traded,
            positions=tuple(positions[:TOP_POSITIONS]),
            latest_trades=tuple(row.latest_trades),
            pnl_series=series,
            details_at=row.details_at or 0.0,
            alerts=alerts,
        )

    def _score(
        self,
        wallet: str,
        stats: TraderStats,
        standings: dict[str, Standing],
        pnl: float,
        daily: Sequence[DailyStat],
    ) -> ScoreBreakdown:
        """The board's score where the trader is ranked by it (so /trader and /leaderboard
        agree), else computed the same way from the stored details."""
        for period in ("week", "month", "all", "day"):
            found = self._leaderboard.entry(wallet, period)
            board = self._leaderboard.board(period)
            if found is not None and board is not None:
                entry = found[1]
                return ScoreBreakdown(
                    entry.score, dict(zip(board.component_names, entry.components, strict=False))
                )
        basis = standings.get("week") or standings.get("all")
        pnl, volume = (basis.pnl, basis.volume) if basis else (pnl, sum(d.volume for d in daily))
        priors = self._leaderboard.publisher.priors
        return copy_score(pnl, volume, stats, self._clock(), priors)

    def _standings(self, wallet: str) -> dict[str, Standing]:
        """Per period: the rank by copy score, or by PnL for a trader without one."""
        standings: dict[str, Standing] = {}
        for period in PERIODS:
            found = self._leaderboard.entry(wallet, period)
            metric = "score"
            if found is None:
                found, metric = self._leaderboard.rank(wallet, period, "pnl"), "pnl"
            if found is not None:
                rank, entry = found
                standings[period] = Standing(rank, metric, entry.pnl, entry.volume)
        return standings

    def top_wallets(self, not_fetched_since: float) -> list[str]:
        """The week's top traders by copy score (the ones people look up most) whose details
        the leaderboard refresh has not fetched since ``not_fetched_since``: each of its
        fetches stores their positions and daily statistics (``record_details``, the stats
        store's ``on_details``), so asking Polymarket again would repeat the same calls."""
        board = self._leaderboard.board("week")
        fetched_at = self._leaderboard.stats.fetched_at
        top = board.by_metric["score"][:TOP_TRADERS] if board else []
        return [e.wallet for e in top if fetched_at.get(e.wallet, 0.0) < not_fetched_since]

    async def sync_top_positions(self) -> int:
        """The "trader-positions" loop: open positions of the top traders not fetched since
        its previous run (the first run: since start)."""
        started = self._clock()
        synced = await self.sync_positions(self.top_wallets(self._positions_synced_at))
        self._positions_synced_at = started
        log.info("trader positions synced for %d traders", synced)
        return synced

    async def refresh_top_details(self) -> int:
        """The "trader-daily-stats" loop: daily statistics of the top traders whose details
        were not fetched in the last day."""
        updated = await self.refresh_details(self.top_wallets(self._clock() - DAY))
        log.info("daily statistics updated for %d traders", updated)
        return updated

    async def sync_positions(self, wallets: Sequence[str], concurrency: int = 4) -> int:
        """The trader-sync loop: open positions of the top ranked traders, one call each."""

        async def sync(wallet: str) -> None:
            positions = await self._api.positions(wallet)
            async with self._pool.acquire() as conn:
                await queries.replace_positions(conn, wallet, positions)
            self._cache.mark_stale(f"trader:{wallet}")  # served while it reloads

        return await self._for_each(wallets, "positions sync", sync, concurrency)

    async def refresh_details(self, wallets: Sequence[str], concurrency: int = 4) -> int:
        """The daily statistics update: a full detail fetch (and daily rows) per trader."""

        async def refresh(wallet: str) -> None:
            positions, closed, activity = await fetch_details(self._api, wallet)
            await self.record_details(wallet, positions, closed, activity)

        return await self._for_each(wallets, "daily statistics", refresh, concurrency)

    @staticmethod
    async def _for_each(
        wallets: Sequence[str],
        what: str,
        work: Callable[[str], Awaitable[None]],
        concurrency: int,
    ) -> int:
        """``work`` per wallet at bounded concurrency; how many succeeded. Failures are logged
        once per kind for the whole run (an outage is one line, not one per trader)."""
        semaphore = asyncio.Semaphore(concurrency)
        tally = FailureTally(what)

        async def one(wallet: str) -> bool:
            async with semaphore:
                try:
                    await work(wallet)
                except Exception as exc:
                    tally.add(exc, wallet)
                    return False
            return True

        done = sum(await asyncio.gather(*(one(w) for w in wallets)))
        tally.log(log)
        return done

    async def position_size(self, wallet: str, asset: str) -> float | None:
        """The trader's last synced position in a token (for mirroring a sell), if known."""
        async with self._pool.acquire() as conn:
            return await queries.position_size(conn, wallet, asset)

    async def wallet_for_name(self, name: str) -> str | None:
        async with self._pool.acquire() as conn:
            return await queries.wallet_for_name(conn, name)

    async def names_of(self, wallets: Sequence[str]) -> dict[str, str]:
        async with self._pool.acquire() as conn:
            return await queries.names_of(conn, wallets)

    async def name_suggestions(self, typed: str, limit: int = 25) -> dict[str, str]:
        async with self._pool.acquire() as conn:
            return await queries.search_names(conn, typed, limit)
