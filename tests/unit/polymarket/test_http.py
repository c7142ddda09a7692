"""The HTTP client against the local fake Polymarket with every fault the real one shows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import PolymarketHTTP, UpstreamError, retry_after_seconds
from tests.fakes.polymarket import FakePolymarket


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=30, seed=3)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(fake: FakePolymarket) -> AsyncIterator[tuple[PolymarketHTTP, list[float]]]:
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    async with aiohttp.ClientSession() as session:
        http = PolymarketHTTP(
            session,
            hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url},
            timeout=0.5,
            max_retries=3,
            sleep=no_sleep,
        )
        yield http, slept


async def test_leaderboard_pages_to_the_requested_total(fake, client) -> None:
    http, _ = client
    rows = await DataAPI(http).leaderboard("week", "PNL", 25)
    assert len(rows) == 25
    assert [r.rank for r in rows] == list(range(1, 26))
    assert rows == sorted(rows, key=lambda r: -r.pnl)
    everything = await DataAPI(http).leaderboard("all", "VOL", 200)
    assert len(everything) == 30  # stops at the short page
    assert http.calls["data:/v1/leaderboard"] == 2


@pytest.mark.parametrize("kind", ["500", "503_html", "html403", "timeout", "truncated", "junk200"])
async def test_transient_faults_are_retried_then_succeed(fake, client, kind: str) -> None:
    http, slept = client
    fake.inject("/v1/leaderboard", kind, count=2)
    rows = await DataAPI(http).leaderboard_page("day", "PNL", limit=5)
    assert len(rows) == 5
    assert http.calls["data:/v1/leaderboard"] == 3
    assert http.failures["data:/v1/leaderboard"] == 2
    assert len(slept) == 2 and all(s > 0 for s in slept)


async def test_429_honours_retry_after(fake, client) -> None:
    http, slept = client
    fake.inject("/positions", "429", count=1, retry_after=3)
    wallet = next(iter(fake.traders))
    await DataAPI(http).positions(wallet)
    assert slept == [3.0]


async def test_persistent_failure_becomes_an_upstream_error(fake, client) -> None:
    http, slept = client
    fake.fail_all("500")
    with pytest.raises(UpstreamError) as info:
        await DataAPI(http).leaderboard_page("day", "PNL")
    assert info.value.status == 500 and "gave up after 4 tries" in str(info.value)
    assert len(slept) == 3
    # exponential: each wait is drawn from a window twice as large as the one before
    assert slept[0] <= 0.5 and slept[2] <= 2.0


async def test_a_400_is_not_retried(fake, client) -> None:
    http, slept = client
    with pytest.raises(UpstreamError) as info:
        await http.get_json("data", "/positions", {"user": "not-a-wallet"})
    assert info.value.status == 400 and slept == []


def test_retry_after_sources() -> None:
    assert retry_after_seconds({"Retry-After": "2"}, None) == 2.0
    assert retry_after_seconds({}, {"retry_after_seconds": 4}) == 4.0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None) is None
    assert retry_after_seconds({}, None) is None
