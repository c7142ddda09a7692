"""Per-trader score inputs (positions, closed positions, activity), shared by all periods.

Fetching three endpoints for every candidate every minute would blow the Data API's
``/positions`` budget (150 per 10 s), so each trader's aggregates live for a TTL and a refresh
only re-fetches the stalest few, plus any trader new to the board, at bounded concurrency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import asyncpg

from bot.failures import FailureTally
from bot.leaderboard.scoring import TraderStats, summarize
from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import UpstreamError
from bot.polymarket.records import Activity, ClosedPosition, Position
from db import leaderboard_queries as queries

log = logging.getLogger(__name__)

DetailsHook = Callable[
    [str, list[Position], list[ClosedPosition], list[Activity]], Awaitable[object]
]
FAILURE_PAUSE = 300.0  # seconds before a trader whose details failed is tried again


class TraderDetails(NamedTuple):
    """One detail fetch of a trader: the three pages the score and the profile are built from."""

    positions: list[Position]
    closed: list[ClosedPosition]
    activity: list[Activity]


async def fetch_details(api: DataAPI, wallet: str) -> TraderDetails:
    """A trader's open positions, closed positions and activity, fetched together: the score
    inputs here, and /trader's profile (bot/traders/profiles.py).

    All or nothing: when one endpoint fails for good its error is raised as is, and the other
    requests are cancelled (their pages would not be used: no score or profile is ever built
    from part of a fetch, so they would only spend the rate limit). What a failure means is
    each caller's to say: the stats store pauses that trader, a profile load serves its stored
    details, the daily statistics update counts it."""
    try:
        async with asyncio.TaskGroup() as group:
            positions = group.create_task(api.positions(wallet))
            closed = group.create_task(api.closed_positions(wallet))
            activity = group.create_task(api.activity(wallet))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return TraderDetails(positions.result(), closed.result(), activity.result())


@dataclass(frozen=True)
class StatsRefresh:
    fetched: int
    failed: int


class TraderStatsStore:
    def __init__(
        self,
        data_api: DataAPI,
        pool: asyncpg.Pool,
        *,
        ttl: float,
        refresh_interval: float,
        concurrency: int = 4,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api = data_api
        self._pool = pool
        self.ttl = ttl
        self._interval = refresh_interval
        self._semaphore = asyncio.Semaphore(concurrency)
        self._clock = clock
        self.stats: dict[str, TraderStats] = {}
        self.fetched_at: dict[str, float] = {}
        self._failed_until: dict[
            str, float
        ] = {}  # new traders whose fetch failed: not every refresh
        self._unbounded = False  # an admin asked for every trader: skip the budget once
        # Profiles store what each fetch brought, so /trader of a ranked trader costs no call.
        self.on_details: DetailsHook | None = None

    async def load(self) -> int:
        """Warm from PostgreSQL so a restart does not re-fetch every trader at once."""
        async with self._pool.acquire() as conn:
            rows = await queries.load_trader_stats(conn)
        for wallet, fetched_at, data in rows:
            try:
                self.stats[wallet] = TraderStats.from_dict(data)
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring unreadable stored stats of %s", wallet)
                continue
            self.fetched_at[wallet] = fetched_at
        return len(self.stats)

    def expire(self, wallet: str) -> None:
        """Event-driven invalidation: the next refresh fetches this trader again."""
        if wallet in self.fetched_at:
            self.fetched_at[wallet] = 0.0

    def expire_all(self) -> None:
        for wallet in self.fetched_at:
            self.fetched_at[wallet] = 0.0
        self._unbounded = True

    def retain(self, wallets: Iterable[str]) -> None:
        """Forget traders no longer on any board, so memory and the win-rate prior follow the
        board (their stored rows age out of PostgreSQL separately)."""
        keep = set(wallets)
        for mapping in (self.stats, self.fetched_at, self._failed_until):
            for wallet in [w for w in mapping if w not in keep]:
                del mapping[wallet]

    def due(self, wallets: Iterable[str], *, budget: int | None = None) -> list[str]:
        """New traders (all of them) then the stalest expired ones, within the per-refresh budget.

        The budget is twice the steady-state need (every trader once per TTL), so a backlog
        drains without bursting past the published limits. An explicit ``budget`` (the
        category boards' refresh) caps new and expired traders together, new ones first.
        """
        now = self._clock()
        wallets = list(dict.fromkeys(wallets))
        new = [
            w for w in wallets if w not in self.fetched_at and self._failed_until.get(w, 0.0) <= now
        ]
        expired = sorted(
            (w for w in wallets if w in self.fetched_at and now - self.fetched_at[w] >= self.ttl),
            key=lambda w: self.fetched_at[w],
        )
        if budget is not None:
            return (new + expired)[: max(0, budget)]
        budget = 5 + int(2 * len(wallets) * self._interval / self.ttl)
        if self._unbounded:
            self._unbounded = False
            budget = len(expired)
        return new + expired[:budget]

    async def refresh(self, wallets: Iterable[str]) -> StatsRefresh:
        wallets = list(wallets)
        tally = FailureTally("trader details")  # one log line per kind, not one per trader
        results = await asyncio.gather(*(self._fetch_one(w, tally) for w in wallets))
        tally.log(log)
        fresh = [r for r in results if r is not None]
        if fresh:
            async with self._pool.acquire() as conn:
                await queries.upsert_trader_stats(
                    conn, [(s.wallet, self.fetched_at[s.wallet], s.to_dict()) for s in fresh]
                )
        return StatsRefresh(fetched=len(fresh), failed=len(wallets) - len(fresh))

    def _had_history(self, wallet: str) -> bool:
        known = self.stats.get(wallet)
        return known is not None and (known.closed_count > 0 or known.trade_count > 0)

    async def _fetch_one(self, wallet: str, tally: FailureTally) -> TraderStats | None:
        async with self._semaphore:
            try:
                positions, closed, activity = await fetch_details(self._api, wallet)
            except Exception as exc:  # one trader's failure must not fail the refresh
                tally.add(exc, wallet)
                self._failed_until[wallet] = self._clock() + FAILURE_PAUSE
                return None
        if not (positions or closed or activity) and self._had_history(wallet):
            # Valid but empty pages for a trader we know traded: a bad answer, not a trader
            # who never traded; the stats we have stay (a profile of zeros never replaces one).
            tally.add(UpstreamError("data:details", "empty pages; kept the previous"), wallet)
            self._failed_until[wallet] = self._clock() + FAILURE_PAUSE
            return None
        now = self._clock()
        stats = summarize(wallet, positions, closed, activity, now)
        self.stats[wallet] = stats
        self.fetched_at[wallet] = now
        if self.on_details is not None:
            try:
                await self.on_details(wallet, positions, closed, activity)
            except Exception as exc:
                tally.add(exc, wallet)
        return stats
