"""Fixtures of the Polymarket fake's self-tests: a fake on 127.0.0.1 and a client session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from tests.fakes.polymarket import FakePolymarket

# The shared helpers assert too: have pytest explain their failures as it does in test modules.
pytest.register_assert_rewrite("tests.fakes.polymarket_helpers")


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    server = FakePolymarket(n_traders=60, seed=1)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        yield client
