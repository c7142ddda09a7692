"""Follow-through of every alert: recorded from the outbox, marked, settled, summarised.

The track-record loop (every ``TRACK_RECORD_SECONDS``) copies newly sent alerts from the alert
outbox (follows, whales and every signal kind: it keys off the delivery's ``kind``) into its
own tables with their alert price, then marks the open ones against their outcome's current
price: at +1 h and +24 h (kept), on every pass (the latest mark), and at the market's
resolution (the payout per share, 1 or 0, which closes it). Prices come from Gamma, 20 markets
a request, the markets most in need first and at most ``MARKETS_PER_PASS`` a pass, so the loop
stays far inside Gamma's budget however many alerts are open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from bot.cache import HotCache, TTLCache
from bot.database import DatabaseGuard
from bot.polymarket.gamma import GammaAPI
from bot.polymarket.records import Market
from bot.trackrecord.models import (
    KIND_OPTIONS,
    PERIOD_DAYS,
    AlertedTrade,
    Marked,
    TrackRecordSummary,
)
from bot.trackrecord.returns import DAY, mark, summarize
from db import trackrecord_queries as queries

log = logging.getLogger(__name__)

COLLECT_WINDOW = 3 * DAY  # alerts sent up to this long after their trade arrived are recorded
COLLECT_BATCH = 5_000
MARKETS_PER_PASS = 200
GAMMA_BATCH = 20
KEEP = 400 * DAY  # alerted trades older than this are forgotten
SUMMARY_LIMIT = 20_000  # alerts read for one summary (the newest)
SUMMARY_TTL = 30.0


@dataclass(frozen=True)
class TrackRecordPass:
    recorded: int  # (server, kind, trade) alerts newly recorded
    marked: int  # open alerts marked
    settled: int  # of which resolved now


def usable(alert: AlertedTrade) -> bool:
    """An alert whose return can be computed: a price strictly between 0 and 1, a known side,
    an outcome token and its market. Others (junk that got through) are skipped, not stored."""
    return (
        0.0 < alert.price < 1.0
        and alert.side in ("BUY", "SELL")
        and bool(alert.asset)
        and bool(alert.condition_id)
    )


def outcome_price(market: Market, asset: str) -> float | None:
    """The current price of the outcome ``asset`` (its payout once resolved), if known."""
    if asset not in market.token_ids:
        return None
    index = market.token_ids.index(asset)
    price = market.prices[index] if index < len(market.prices) else -1.0
    return price if 0.0 <= price <= 1.0 else None


class TrackRecordService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        gamma: GammaAPI,
        cache: HotCache,
        *,
        interval: float,
        clock: Callable[[], float] = time.time,
        database: DatabaseGuard | None = None,
    ) -> None:
        self._pool = pool
        self._db = database or DatabaseGuard()  # the commands' reads: bounded
        self._gamma = gamma
        self.interval = interval
        self._clock = clock
        self._summaries: TTLCache[TrackRecordSummary] = cache.ttl_cache(
            "track-record", ttl=SUMMARY_TTL, max_size=2_000
        )
        self.last_pass: TrackRecordPass | None = None

    @property
    def late(self) -> float:
        """How late a +1 h / +24 h mark may be taken: two passes, at least 30 minutes."""
        return max(1800.0, 2.0 * self.interval)

    async def run(self) -> TrackRecordPass:
        """The loop body: record new alerts, then mark and settle open ones."""
        recorded = await self.collect()
        marked, settled = await self.mark_open()
        async with self._pool.acquire() as conn:
            await queries.prune(conn, self._clock() - KEEP)
        self.last_pass = TrackRecordPass(recorded, marked, settled)
        if recorded or marked:
            self._summaries.clear()
        log.info(
            "track record: %d alerts recorded, %d marked, %d settled", recorded, marked, settled
        )
        return self.last_pass

    async def collect(self) -> int:
        async with self._pool.acquire() as conn:
            alerted = await queries.new_alerted_trades(
                conn, self._clock() - COLLECT_WINDOW, COLLECT_BATCH
            )
        good = [a for a in alerted if usable(a)]
        if len(good) < len(alerted):
            skipped = len(alerted) - len(good)
            log.info("track record: skipped %d alerts without a usable price", skipped)
        if good:
            async with self._pool.acquire() as conn:
                await queries.record_alerts(conn, good)
        return len(good)

    async def mark_open(self) -> tuple[int, int]:
        now = self._clock()
        async with self._pool.acquire() as conn:
            open_alerts = await queries.open_to_mark(conn, now, self.late, MARKETS_PER_PASS)
        markets = await self._markets({o.condition_id for o in open_alerts})
        marks: list[Marked] = []
        for outcome in open_alerts:
            market = markets.get(outcome.condition_id)
            price = outcome_price(market, outcome.asset) if market is not None else None
            if price is not None:
                resolved = market is not None and market.resolved
                marks.append(mark(outcome, price, resolved=resolved, now=now, late=self.late))
        if marks:
            async with self._pool.acquire() as conn:
                await queries.apply_marks(conn, marks, now)
        return len(marks), sum(1 for m in marks if m.payout is not None)

    async def _markets(self, condition_ids: set[str]) -> dict[str, Market]:
        """Current markets by condition id; a failed batch is skipped (marked next pass)."""
        ids = sorted(condition_ids)
        found: dict[str, Market] = {}
        for start in range(0, len(ids), GAMMA_BATCH):
            try:
                batch = await self._gamma.markets_by_condition(ids[start : start + GAMMA_BATCH])
            except Exception as exc:
                log.warning("track record: prices of %d markets unavailable: %s", len(ids), exc)
                continue
            found.update((m.condition_id, m) for m in batch)
        return found

    # ---- reading ----------------------------------------------------------------------------

    async def summary(self, guild_id: int, kind: str, period: str) -> TrackRecordSummary:
        """A server's record for /track-record: ``kind`` all/follows/whales/fresh/smart/
        consensus, ``period`` week/month/all. Cached for a few seconds."""
        days = PERIOD_DAYS[period]
        since = None if days is None else self._clock() - days * DAY

        async def read() -> TrackRecordSummary:
            async with self._pool.acquire() as conn:
                outcomes = await queries.guild_outcomes(
                    conn, guild_id, KIND_OPTIONS.get(kind), since, SUMMARY_LIMIT
                )
            return summarize(outcomes)

        async def load() -> TrackRecordSummary:  # DatabaseUnavailable: the user is told
            return await self._db.run(read, "/track-record")

        return await self._summaries.get(f"guild:{guild_id}:{kind}:{period}", load)

    async def trader_summary(self, wallet: str) -> TrackRecordSummary:
        """Every alert on one trader's trades, in any server (for /trader, which bounds it)."""
        async with self._pool.acquire() as conn:
            return summarize(await queries.wallet_outcomes(conn, wallet, SUMMARY_LIMIT))
