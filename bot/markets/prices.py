"""Market prices a few seconds old: Gamma first, the CLOB as fallback, last good value if both fail.

One load per market at a time (coalesced through the cache), a 2.5 s TTL, and resolved markets
answered from what is stored, never fetched again. Every lookup records demand, which the
markets loop writes to PostgreSQL so it knows which open markets people care about.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from bot.cache import HotCache, TTLCache
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.records import Market
from db import market_queries as queries

log = logging.getLogger(__name__)

LAST_GOOD_LIMIT = 10_000


@dataclass(frozen=True)
class Quote:
    prices: tuple[float, ...]  # aligned with the market's outcomes; -1 where unknown
    as_of: float
    stale: bool
    source: str  # gamma, clob, resolved, stored


class PriceService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        gamma: GammaAPI,
        clob: ClobAPI,
        cache: HotCache,
        *,
        alert_timeout: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._gamma = gamma
        self._clob = clob
        self._quotes: TTLCache[Quote] = cache.ttl_cache(
            "quotes", ttl=2.5, stale_ttl=0.0, max_size=5_000
        )
        self._midpoints: TTLCache[float] = cache.ttl_cache(
            "midpoints", ttl=3.0, stale_ttl=60.0, max_size=20_000
        )
        self._alert_timeout = alert_timeout
        self._clock = clock
        self._last_good: OrderedDict[str, Quote] = OrderedDict()
        self.demand: dict[str, float] = {}
        self.fetches = 0

    async def quote(
        self, market: Market, *, demand: bool = True, wait: float | None = None
    ) -> Quote:
        """Current prices; ``demand=False`` for the bot's own refreshes (not a user's interest).

        ``wait`` bounds how long a command waits on Polymarket: past it the last good prices
        are answered, marked stale, while the load goes on and fills the cache."""
        cid = market.condition_id
        if demand:
            self.demand[cid] = self._clock()
        if market.resolved:
            return Quote(market.prices, self._clock(), False, "resolved")
        known = self._last_good.get(cid)
        if known is not None and known.source == "resolved":  # resolved since it was loaded
            return known
        try:
            return await asyncio.wait_for(
                self._quotes.get(f"quote:{cid}", lambda: self._fetch(market)), wait
            )
        except Exception as exc:
            log.warning("prices of %s unavailable: %s", cid, exc or "timed out")
            last = self._last_good.get(cid)
            if last is not None:
                return Quote(last.prices, last.as_of, True, last.source)
            return Quote(market.prices, 0.0, True, "stored")

    async def _fetch(self, market: Market) -> Quote:
        self.fetches += 1
        cid = market.condition_id
        try:
            fresh = await self._gamma.markets_by_condition([cid])
            found = next((m for m in fresh if m.condition_id == cid), None)
            if found is None or min(found.prices, default=-1.0) < 0:
                raise LookupError("Gamma has no prices for it")
            async with self._pool.acquire() as conn:
                await queries.upsert_markets(conn, [found], self._clock())
            source = "resolved" if found.resolved else "gamma"
            quote = Quote(found.prices, self._clock(), False, source)
        except Exception as exc:
            log.info("Gamma prices of %s failed (%s); trying the CLOB", cid, exc)
            mids = await asyncio.gather(*(self._clob.midpoint(t) for t in market.token_ids))
            quote = Quote(tuple(mids), self._clock(), False, "clob")
        self._remember(cid, quote)
        return quote

    def _remember(self, cid: str, quote: Quote) -> None:
        self._last_good[cid] = quote
        self._last_good.move_to_end(cid)
        while len(self._last_good) > LAST_GOOD_LIMIT:
            self._last_good.popitem(last=False)

    async def midpoint(self, token_id: str) -> float | None:
        """A token's CLOB midpoint for an alert, or None rather than delay the alert."""
        if not token_id:
            return None
        try:
            return await asyncio.wait_for(
                self._midpoints.get(f"mid:{token_id}", lambda: self._clob.midpoint(token_id)),
                self._alert_timeout,
            )
        except Exception as exc:
            log.debug("no current price for %s: %s", token_id, exc)
            return self._midpoints.peek(f"mid:{token_id}")

    def forget_prices(self) -> None:
        """Admin refresh of markets: the next lookups read prices upstream again."""
        self._quotes.clear()
        self._midpoints.clear()

    async def flush_demand(self) -> int:
        demand, self.demand = self.demand, {}
        async with self._pool.acquire() as conn:
            await queries.record_demand(conn, demand)
        return len(demand)
