"""Building LeaderboardService the way the bot does, against the fake, for integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg

from bot.cache import HotCache
from bot.events import EventBus
from bot.leaderboard.service import LeaderboardService
from bot.leaderboard.stats_store import TraderStatsStore
from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import PolymarketHTTP
from tests.fakes.polymarket import FakePolymarket

Factory = Callable[..., LeaderboardService]


async def _quick_sleep(_: float) -> None:
    await asyncio.sleep(0)


def fake_data_api(
    session: aiohttp.ClientSession,
    fake: FakePolymarket,
    *,
    timeout: float = 2.0,
    max_retries: int = 1,
) -> DataAPI:
    """A Data API client of the fake on its own HTTP stack; retries do not wait."""
    http = PolymarketHTTP(
        session,
        hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url},
        timeout=timeout,
        max_retries=max_retries,
        sleep=_quick_sleep,
    )
    return DataAPI(http)


def leaderboard_factory(
    session: aiohttp.ClientSession,
    fake: FakePolymarket,
    pool: asyncpg.Pool,
    *,
    timeout: float = 2.0,
    max_retries: int = 1,
    **defaults: Any,
) -> Factory:
    """``build(bus=None, **options)`` makes a service on its own client stack and cache, sharing
    the database (several services in one test are like restarts). Retries do not wait."""

    def build(bus: EventBus | None = None, **options: Any) -> LeaderboardService:
        api = fake_data_api(session, fake, timeout=timeout, max_retries=max_retries)
        stats = TraderStatsStore(api, pool, ttl=600, refresh_interval=60, concurrency=4)
        settings = {"candidates": 60, **defaults, **options}
        return LeaderboardService(pool, api, stats, HotCache(), bus or EventBus(), **settings)

    return build
