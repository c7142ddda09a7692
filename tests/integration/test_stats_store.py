"""The traders' score inputs against the local fake Polymarket: one detail fetch, all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from bot.leaderboard.stats_store import FAILURE_PAUSE, TraderStatsStore, fetch_details
from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import UpstreamError
from tests.factories import Clock
from tests.fakes.polymarket import FakePolymarket
from tests.integration.leaderboard_helpers import fake_data_api

DETAIL_PATHS = ("/positions", "/closed-positions", "/activity")


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    async with FakePolymarket(n_traders=3, seed=5) as fake:
        yield fake


@pytest.fixture
async def api(fake: FakePolymarket) -> AsyncIterator[DataAPI]:
    async with aiohttp.ClientSession() as session:
        yield fake_data_api(session, fake)  # two tries a call


def a_trader(fake: FakePolymarket) -> str:
    return next(w for w, t in fake.traders.items() if t.positions and t.closed_positions)


async def test_a_detail_fetch_is_the_three_pages(api: DataAPI, fake: FakePolymarket) -> None:
    wallet = a_trader(fake)
    details = await fetch_details(api, wallet)
    assert details.positions == await api.positions(wallet)
    assert details.closed == await api.closed_positions(wallet)
    assert details.activity == await api.activity(wallet)
    assert details.positions and details.closed and details.activity


@pytest.mark.parametrize("path", DETAIL_PATHS)
async def test_one_failing_endpoint_fails_the_whole_fetch(
    api: DataAPI, fake: FakePolymarket, path: str
) -> None:
    fake.inject(path, "500", count=2)
    with pytest.raises(UpstreamError) as failed:
        await fetch_details(api, a_trader(fake))
    assert failed.value.endpoint == f"data:{path}"


async def test_the_store_pauses_a_trader_whose_fetch_failed_in_part(
    api: DataAPI, fake: FakePolymarket, pool: asyncpg.Pool
) -> None:
    clock = Clock(1_800_000_000.0)
    store = TraderStatsStore(api, pool, ttl=600, refresh_interval=60, clock=clock)
    recorded: list[str] = []

    async def on_details(wallet: str, *_: object) -> None:
        recorded.append(wallet)

    store.on_details = on_details
    wallet = a_trader(fake)
    fake.inject("/activity", "500", count=2)

    refresh = await store.refresh([wallet])
    assert (refresh.fetched, refresh.failed) == (0, 1)
    assert wallet not in store.stats and recorded == []  # nothing built from the other pages
    assert store.due([wallet]) == []  # paused, not retried every refresh
    clock.now += FAILURE_PAUSE
    assert store.due([wallet]) == [wallet]
    assert (await store.refresh([wallet])).fetched == 1 and recorded == [wallet]


async def test_when_one_endpoint_fails_the_others_are_stopped_not_left_running(
    fake: FakePolymarket,
) -> None:
    """Their pages would be thrown away: a request still waiting is cancelled, so it spends no
    more of the rate limit (left running, it would time out and be tried again)."""
    async with aiohttp.ClientSession() as session:
        api = fake_data_api(session, fake, timeout=0.3)
        fake.inject("/activity", "timeout", count=2)  # hangs until the client gives up
        fake.inject("/positions", "500", count=2)  # fails for good at once
        with pytest.raises(UpstreamError):
            await fetch_details(api, a_trader(fake))
        await asyncio.sleep(0.6)  # a request left running has timed out and retried by now
        assert fake.calls["/activity"] == 1
