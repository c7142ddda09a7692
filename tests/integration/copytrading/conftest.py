"""Fixtures of the copy-trading integration tests: the fake Polymarket behind the bot's real HTTP
stack, a clock the tests advance, and a factory of services (each one a "process")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.copytrading.service import CopyTradingService
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Market
from tests.factories import Clock
from tests.fakes.polymarket import FakePolymarket
from tests.integration.copytrading.helpers import Factory


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    async with FakePolymarket(n_traders=0, seed=5) as server:
        yield server


@pytest.fixture
async def http(fake: FakePolymarket) -> AsyncIterator[PolymarketHTTP]:
    async with aiohttp.ClientSession() as session:
        yield PolymarketHTTP(
            session,
            hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url},
            timeout=5.0,
            max_retries=0,
            limits={},
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_service(pool: asyncpg.Pool, http: PolymarketHTTP, clock: Clock) -> Factory:
    gamma = GammaAPI(http)

    async def market_of(condition_id: str) -> Market | None:
        found = await gamma.markets_by_condition([condition_id])
        return next((m for m in found if m.condition_id == condition_id), None)

    def factory(**kwargs: Any) -> CopyTradingService:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("retry_delay", 0.01)
        return CopyTradingService(pool, ClobAPI(http), market_of=market_of, **kwargs)

    return factory
