"""Finding markets (a pasted link, slug, condition id or free text) and keeping the markets
table current.

A /market lookup waits on Polymarket at most ``LOOKUP_WAIT`` seconds; past that (or when
Polymarket fails) it answers from what PostgreSQL knows, so a user gets an answer within a
few seconds either way. The upstream load keeps running and fills the cache for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from bot.cache import HotCache, TTLCache
from bot.database import DatabaseGuard, DatabaseUnavailable
from bot.errors import UserError
from bot.markets.links import MarketLink, looks_like_link, parse_market_link
from bot.markets.prices import PriceService
from bot.polymarket.gamma import GammaAPI
from bot.polymarket.http import UpstreamError
from bot.polymarket.records import CONDITION_RE, Market
from db import market_queries as queries
from db.pool import Connection

log = logging.getLogger(__name__)

T = TypeVar("T")

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")
MAX_QUERY = 200
MAX_RESULTS = 25
DESCRIBE_BATCH = 20
DEMAND_WINDOW = 3600.0
LOOKUP_WAIT = 1.5  # seconds a command waits on Polymarket before answering from PostgreSQL


class MarketQueryError(UserError):
    """The query cannot be searched (empty, nothing but punctuation, or a link to no market)."""


class MarketsUnavailable(UserError):
    """Polymarket did not answer in time and PostgreSQL knows no market for the query."""


def best_first(markets: list[Market]) -> list[Market]:
    """Open markets before closed and resolved ones, then by volume."""
    return sorted(markets, key=lambda m: (m.closed, -m.volume))


class MarketService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        gamma: GammaAPI,
        prices: PriceService,
        cache: HotCache,
        *,
        clock: Callable[[], float] = time.time,
        database: DatabaseGuard | None = None,
    ) -> None:
        self._pool = pool
        self._db = database or DatabaseGuard()  # /market's reads and writes: bounded
        self._gamma = gamma
        self.prices = prices
        self._markets: TTLCache[Market | None] = cache.ttl_cache(
            "markets", ttl=60.0, stale_ttl=600.0, max_size=5_000
        )
        self._searches: TTLCache[list[Market]] = cache.ttl_cache(
            "market-search", ttl=120.0, max_size=1_000
        )
        self._clock = clock

    async def find(self, query: str, *, wait: float = LOOKUP_WAIT) -> list[Market]:
        """Markets matching a Polymarket link, a slug, a condition id or free text (open ones
        first). Waits on Polymarket at most ``wait`` seconds, then answers from PostgreSQL."""
        text = " ".join(query.split())[:MAX_QUERY]
        if not any(ch.isalnum() for ch in text):
            raise MarketQueryError(
                "Paste a Polymarket link, or type a market's slug, its condition id (0x…) or a "
                "few words."
            )
        if looks_like_link(text):
            link = parse_market_link(text)
            if link is None:
                raise MarketQueryError(
                    "That link is not a Polymarket market: paste one that looks like "
                    "https://polymarket.com/event/…"
                )
            return await self._within(
                self._linked(link), wait, lambda conn: self._stored_link(conn, link)
            )
        if CONDITION_RE.match(text):
            return await self._within(self._one(self.by_condition(text.lower())), wait, None)
        if SLUG_RE.match(text):
            found = await self._within(self._one(self.by_slug(text)), wait, None)
            if found:
                return found
        return await self._within(
            self.search(text), wait, lambda conn: queries.search_stored(conn, text, MAX_RESULTS)
        )

    async def _within(
        self,
        lookup: Awaitable[list[Market]],
        wait: float,
        stored: Callable[[Connection], Awaitable[list[Market]]] | None,
    ) -> list[Market]:
        """``lookup`` if Polymarket answers within ``wait``; else what PostgreSQL has."""
        try:
            return best_first(await asyncio.wait_for(lookup, wait))
        except (TimeoutError, UpstreamError) as exc:
            log.warning("market lookup answered from storage: %s", exc or "timed out")
            found = (await self._stored(stored) or []) if stored is not None else []
            if not found:
                raise MarketsUnavailable(
                    "Polymarket is not answering right now and I have not seen that market "
                    "yet; try again in a minute."
                ) from None
            return best_first(found)

    @staticmethod
    async def _one(lookup: Awaitable[Market | None]) -> list[Market]:
        market = await lookup
        return [market] if market is not None else []

    async def _linked(self, link: MarketLink) -> list[Market]:
        """A market link names one market; an event link names every market of the event
        (a link to a market page that Gamma files as an event of one is found either way)."""
        if link.market_slug:
            return await self._one(self.by_slug(link.market_slug))
        markets = await self.event(link.event_slug)
        return markets or await self._one(self.by_slug(link.event_slug))

    @staticmethod
    async def _stored_link(conn: Connection, link: MarketLink) -> list[Market]:
        if link.market_slug:
            return await MarketService._one(queries.by_slug(conn, link.market_slug))
        return await queries.by_event(conn, link.event_slug, MAX_RESULTS)

    async def event(self, event_slug: str) -> list[Market]:
        """The markets of an event, stored as they are found; empty for an unknown event."""

        async def load() -> list[Market]:
            found = (await self._gamma.event_markets(event_slug) or [])[:MAX_RESULTS]
            await self._remember(found)
            return found

        return await self._searches.get(f"event:{event_slug}", load)

    async def by_condition(self, condition_id: str) -> Market | None:
        async def load() -> Market | None:
            stored = await self._stored(lambda conn: queries.by_condition(conn, condition_id))
            if stored is not None:
                return stored
            found = await self._gamma.markets_by_condition([condition_id])
            await self._remember(found)
            return next((m for m in found if m.condition_id == condition_id), None)

        return await self._markets.get(f"cid:{condition_id}", load)

    async def by_slug(self, slug: str) -> Market | None:
        async def load() -> Market | None:
            stored = await self._stored(lambda conn: queries.by_slug(conn, slug))
            if stored is not None:
                return stored
            found = await self._gamma.market_by_slug(slug)
            if found is not None:
                await self._remember([found])
            return found

        return await self._markets.get(f"slug:{slug}", load)

    async def fresh(self, condition_id: str) -> Market | None:
        """Gamma's answer now, stored: for settling orders, where an old row could hide a
        resolution (a resolved row is never changed back, see upsert_markets)."""
        found = await self._gamma.markets_by_condition([condition_id])
        await self._store(found)
        return next((m for m in found if m.condition_id == condition_id), None)

    async def search(self, text: str) -> list[Market]:
        async def load() -> list[Market]:
            found = (await self._gamma.search(text))[:MAX_RESULTS]
            await self._remember(found)
            return found

        return await self._searches.get(text.lower(), load)

    async def _stored(self, read: Callable[[Connection], Awaitable[T]]) -> T | None:
        """A command's look at the markets table; None (ask Gamma, or say Polymarket is not
        answering) when PostgreSQL is away."""

        async def run() -> T:
            async with self._pool.acquire() as conn:
                return await read(conn)

        try:
            return await self._db.run(run, "/market")
        except DatabaseUnavailable:
            return None

    async def _remember(self, markets: list[Market]) -> None:
        """Store what a command fetched, if PostgreSQL answers in time; the answer is in hand."""
        with contextlib.suppress(DatabaseUnavailable):
            await self._db.run(lambda: self._store(markets), "storing markets")

    async def _store(self, markets: list[Market]) -> None:
        async with self._pool.acquire() as conn:
            await queries.upsert_markets(conn, markets, self._clock())

    async def sync(self) -> tuple[int, int]:
        """The markets loop: describe markets seen in trades and positions, refresh prices of
        open markets people asked about, and record demand. Returns (described, refreshed)."""
        async with self._pool.acquire() as conn:
            unknown = await queries.unknown_condition_ids(conn, DESCRIBE_BATCH * 5)
        described = 0
        for start in range(0, len(unknown), DESCRIBE_BATCH):
            batch = unknown[start : start + DESCRIBE_BATCH]
            found = await self._gamma.markets_by_condition(batch)
            await self._store(found)
            described += len(found)
            known = {m.condition_id for m in found}
            async with self._pool.acquire() as conn:
                await queries.record_misses(conn, [cid for cid in batch if cid not in known])
        await self.prices.flush_demand()
        async with self._pool.acquire() as conn:
            demanded = await queries.open_demanded(conn, self._clock() - DEMAND_WINDOW, 50)
        refreshed = 0
        for condition_id in demanded:
            market = await self.by_condition(condition_id)
            if market is not None:
                await self.prices.quote(market, demand=False)
                refreshed += 1
        log.info("markets: described %d new, refreshed %d demanded", described, refreshed)
        return described, refreshed

    def forget_all(self) -> None:
        """Markets and their prices are read upstream again on their next use."""
        self.forget_markets()
        self.prices.forget_prices()

    def forget_markets(self) -> None:
        """Admin refresh of markets: forget cached metadata and searches."""
        self._markets.clear()
        self._searches.clear()
