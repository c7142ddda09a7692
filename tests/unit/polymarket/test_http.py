"""The HTTP client against the local fake Polymarket with every fault the real one shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import (
    MAX_REDIRECTS,
    MB,
    Limit,
    PolymarketHTTP,
    UpstreamError,
    retry_after_seconds,
)
from tests.fakes.polymarket import HUGE_BODY_BYTES, FakePolymarket
from tests.fakes.polymarket_helpers import until


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
    # an HTTP-date: the time left until then (a past date: retry now)
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None) == 0.0
    later = retry_after_seconds(
        {"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}, None, now=lambda: 1445412480.0
    )
    assert later == 30.0
    # bounded: a bogus hour (or year) cannot mute the bot for that long
    assert retry_after_seconds({"Retry-After": "3600"}, None) == 600.0
    assert retry_after_seconds({"Retry-After": "soon"}, None) is None
    assert retry_after_seconds({}, None) is None


async def test_a_huge_body_is_cut_off_at_the_route_cap(fake, client) -> None:
    http, _ = client
    cap = http.body_cap("data", "/positions")
    fake.inject("/positions", "huge")
    with pytest.raises(UpstreamError) as info:
        await DataAPI(http).positions(next(iter(fake.traders)))
    assert "cap" in str(info.value)
    # The client hung up after the cap: the fake wrote a few socket buffers more, not 100 MB.
    await until(lambda: fake.huge_bytes_sent > cap)
    assert fake.huge_bytes_sent < cap + 16 * MB < HUGE_BODY_BYTES
    assert fake.calls["/positions"] == 1  # too large is not retried


async def test_retry_after_3600_is_honoured_not_slept_nor_hammered(fake, client) -> None:
    http, slept = client
    fake.inject("/v1/leaderboard", "429", count=5, retry_after=3600)
    with pytest.raises(UpstreamError) as info:
        await DataAPI(http).leaderboard_page("day", "PNL")
    assert info.value.status == 429 and slept == []
    # Every later call during the cool-down fails at once without asking Polymarket again.
    for _ in range(3):
        with pytest.raises(UpstreamError, match="Retry-After"):
            await DataAPI(http).leaderboard_page("week", "PNL")
    assert fake.calls["/v1/leaderboard"] == 1
    # Other routes are not muted by one route's Retry-After.
    assert await DataAPI(http).positions(next(iter(fake.traders))) is not None


async def test_a_short_retry_after_is_waited_out_by_the_next_caller_too(fake, client) -> None:
    http, slept = client
    fake.inject("/v1/leaderboard", "429", count=1, retry_after=5)
    await DataAPI(http).leaderboard_page("day", "PNL")
    assert slept == [5.0]
    await DataAPI(http).leaderboard_page("week", "PNL")  # within the 5 s: waits what is left
    assert len(slept) == 2 and 0 < slept[1] <= 5.0
    assert fake.calls["/v1/leaderboard"] == 3


async def test_a_redirect_loop_stops_after_a_few_rate_limited_hops(fake, client) -> None:
    http, _ = client
    fake.inject("/v1/leaderboard", "redirect_loop", count=100)
    with pytest.raises(UpstreamError, match="redirects"):
        await DataAPI(http).leaderboard_page("day", "PNL")
    assert fake.calls["/v1/leaderboard"] == 1 + MAX_REDIRECTS
    assert http.calls["data:/v1/leaderboard"] == 1 + MAX_REDIRECTS  # each hop paid the limiter


async def test_one_redirect_on_the_same_host_is_followed(fake, client) -> None:
    http, _ = client
    fake.inject("/v1/leaderboard", "redirect_loop", count=1)
    rows = await DataAPI(http).leaderboard_page("day", "PNL", limit=3)
    assert len(rows) == 3


@pytest.mark.parametrize("kind", ["nested_array", "null_rows"])
async def test_valid_json_of_the_wrong_shape_is_a_failed_call(fake, client, kind: str) -> None:
    http, _ = client
    fake.inject("/v1/leaderboard", kind)
    with pytest.raises(UpstreamError, match="wrong shape"):
        await DataAPI(http).leaderboard_page("day", "PNL")
    assert sum(http.rejections.counts.values()) >= 1


@pytest.mark.parametrize(("scale", "served_at_once"), [(1.0, 2), (5.0, 10)])
async def test_the_rate_limit_holds_calls_back_and_the_scale_multiplies_it(
    fake, scale: float, served_at_once: int
) -> None:
    """20 calls per 10 s lets two of ten through at once and the rest at two a second; the
    scale (tests against the fakes raise it) multiplies both, so all ten go at once."""
    async with aiohttp.ClientSession() as session:
        http = PolymarketHTTP(
            session,
            hosts={"data": fake.base_url},
            limits={"data:/v1/leaderboard": Limit(20)},
            rate_scale=scale,
        )
        calls = [
            asyncio.create_task(DataAPI(http).leaderboard_page("day", "PNL", limit=5))
            for _ in range(10)
        ]
        try:
            await until(lambda: fake.calls["/v1/leaderboard"] >= served_at_once)
            await asyncio.sleep(0.2)
            held_back = 10 - fake.calls["/v1/leaderboard"]
            assert (held_back > 0) == (served_at_once < 10)
        finally:
            for call in calls:
                call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
