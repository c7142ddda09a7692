"""Self-test of the Polymarket fake's faults and controls: every fault kind fires as documented,
on the routes and call keys a test names; ``hold``, ``latency`` and ``stop`` behave.

If the faults stopped firing, every resilience test of the bot would pass for the wrong reason.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from tests.fakes.polymarket import (
    CALL_KEY_CLOB_MARKET,
    CALL_KEY_MARKET_BY_ID,
    CALL_KEY_MARKET_BY_SLUG,
    FAULT_KINDS,
    HUGE_BODY_BYTES,
    SHAPE_FAULTS,
    FakePolymarket,
)
from tests.fakes.polymarket_helpers import UNKNOWN_WALLET, a_trader, get, live_markets, until

# ---------------------------------------------------------------------- faults and control


def test_inject_rejects_unknown_kind() -> None:
    fake = FakePolymarket(n_traders=1)
    with pytest.raises(ValueError):
        fake.inject("/positions", "418")
    with pytest.raises(ValueError):
        fake.fail_all("418")


@pytest.mark.asyncio
async def test_fault_500(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    fake.inject("/positions", "500", count=2)
    wallet = a_trader(fake).wallet
    for _ in range(2):
        status, body = await get(session, fake, "/positions", user=wallet)
        assert (status, body) == (500, {"error": "internal"})
    status, _ = await get(session, fake, "/positions", user=wallet)
    assert status == 200
    assert fake.calls["/positions"] == 3
    assert fake.pending_faults == 0


@pytest.mark.asyncio
async def test_fault_429_retry_after(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    fake.inject("/v1/leaderboard", "429", retry_after=0.25)
    fake.inject("/v1/leaderboard", "429", retry_after=2)
    async with session.get(fake.base_url + "/v1/leaderboard") as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "0.25"
        assert await response.json() == {"error": "rate limited"}
    async with session.get(fake.base_url + "/v1/leaderboard") as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "2"
    status, _ = await get(session, fake, "/v1/leaderboard")
    assert status == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kind", "status", "needle"),
    [("503_html", 503, "503"), ("html403", 403, "Cloudflare"), ("junk200", 200, "<html")],
)
async def test_fault_html(
    fake: FakePolymarket, session: aiohttp.ClientSession, kind: str, status: int, needle: str
) -> None:
    fake.inject("/activity", kind)
    async with session.get(
        fake.base_url + "/activity", params={"user": a_trader(fake).wallet}
    ) as response:
        assert response.status == status
        assert response.content_type == "text/html"
        assert needle in await response.text()


@pytest.mark.asyncio
async def test_fault_truncated(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    fake.inject("/closed-positions", "truncated")
    async with session.get(
        fake.base_url + "/closed-positions", params={"user": a_trader(fake).wallet}
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        raw = await response.text()
    assert raw.startswith("[{")
    with pytest.raises(ValueError):
        json.loads(raw)


@pytest.mark.asyncio
async def test_fault_timeout(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    fake.inject("/positions", "timeout")
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        async with session.get(
            fake.base_url + "/positions",
            params={"user": a_trader(fake).wallet},
            timeout=aiohttp.ClientTimeout(total=0.3),
        ) as response:
            await response.read()
    assert time.perf_counter() - started < 2.0
    status, _ = await get(session, fake, "/positions", user=a_trader(fake).wallet)
    assert status == 200


@pytest.mark.asyncio
async def test_stop_is_prompt_with_hung_requests(session: aiohttp.ClientSession) -> None:
    """A parked ``timeout`` fault or ``hold`` must not make stop() wait 30 s."""
    server = FakePolymarket(n_traders=3)
    await server.start()
    server.inject("/positions", "timeout")
    server.hold = asyncio.Event()
    url = server.base_url

    async def outcome(path: str) -> int | str:
        try:
            async with session.get(url + path, params={"user": UNKNOWN_WALLET}) as response:
                await response.read()
                return response.status
        except aiohttp.ClientError as exc:
            return type(exc).__name__

    hung = [
        asyncio.create_task(outcome("/positions")),
        asyncio.create_task(outcome("/activity")),
    ]
    await until(lambda: sum(server.calls.values()) >= 2)
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in hung)
    started = time.perf_counter()
    await server.stop()
    results = await asyncio.wait_for(asyncio.gather(*hung), 3)
    assert time.perf_counter() - started < 3.0
    assert results[0] != 200  # the timeout fault never turns into a real answer
    assert results[1] in (200, "ServerDisconnectedError", "ClientOSError")


@pytest.mark.asyncio
async def test_wildcard_inject_and_fail_all(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    fake.inject("/v1/*", "500", count=1)
    status, _ = await get(session, fake, "/v1/leaderboard")
    assert status == 500
    status, _ = await get(session, fake, "/v1/leaderboard")
    assert status == 200

    fake.fail_all("500")
    for path in ("/v1/leaderboard", "/positions", "/nowhere"):
        status, _ = await get(session, fake, path)
        assert status == 500
    fake.fail_all(None)
    status, _ = await get(session, fake, "/v1/leaderboard")
    assert status == 200
    assert fake.calls["/v1/leaderboard"] == 4
    assert fake.calls["/nowhere"] == 1
    fake.reset_calls()
    assert sum(fake.calls.values()) == 0


@pytest.mark.asyncio
async def test_hold_and_latency(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    fake.hold = asyncio.Event()
    pending = asyncio.create_task(get(session, fake, "/v1/leaderboard"))
    await until(lambda: fake.calls["/v1/leaderboard"] > 0)
    await asyncio.sleep(0.05)
    assert not pending.done()  # received and counted, but not answered
    fake.hold.set()
    status, _ = await asyncio.wait_for(pending, 2)
    assert status == 200
    fake.hold = None

    fake.latency = 0.2
    started = time.perf_counter()
    status, _ = await get(session, fake, "/v1/leaderboard", limit=1)
    assert status == 200 and time.perf_counter() - started >= 0.2


def test_fault_kinds_are_the_documented_ones() -> None:
    classic = {"500", "503_html", "429", "html403", "timeout", "truncated", "junk200"}
    added = {"huge", "redirect_loop", "empty_array", "nested_array", "null_rows"}
    assert classic | added == FAULT_KINDS
    assert {"empty_array", "nested_array", "null_rows"} == SHAPE_FAULTS


@pytest.mark.asyncio
async def test_wrong_shaped_json_is_built_from_the_real_answer(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    _, real = await get(session, fake, "/v1/leaderboard", limit=3)
    for kind in ("empty_array", "nested_array", "null_rows"):
        fake.inject("/v1/leaderboard", kind)
    answers = [(await get(session, fake, "/v1/leaderboard", limit=3))[1] for _ in range(3)]
    assert answers[0] == []
    assert answers[1] == [real]
    assert answers[2] == [dict.fromkeys(row) for row in real] and len(real) == 3


@pytest.mark.asyncio
async def test_redirect_loop_and_huge_body(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    fake.inject("/v1/leaderboard", "redirect_loop", count=2)
    url = fake.base_url + "/v1/leaderboard?limit=1"
    async with session.get(url, allow_redirects=False) as response:
        assert response.status == 302 and response.headers["Location"] == "/v1/leaderboard?limit=1"
    fake.inject("/positions", "huge")
    async with session.get(fake.base_url + "/positions") as response:
        assert response.status == 200 and response.content_length is None  # chunked
        first = await response.content.read(1_000_000)
        assert first.startswith(b"[") and len(first) > 0
    await until(lambda: 0 < fake.huge_bytes_sent < HUGE_BODY_BYTES)


# ---------------------------------------------------------------------- new routes: keys, faults


def test_call_keys() -> None:
    fake = FakePolymarket(n_traders=1)
    assert fake.call_key("/markets/slug/some-slug") == CALL_KEY_MARKET_BY_SLUG == "/markets/slug"
    assert fake.call_key("/markets/12345") == CALL_KEY_MARKET_BY_ID == "/markets/id"
    assert fake.call_key("/markets/0x" + "ab" * 32) == CALL_KEY_CLOB_MARKET
    assert CALL_KEY_CLOB_MARKET == "/markets/condition"
    for fixed in ("/markets", "/markets/keyset", "/public-search", "/prices-history", "/book"):
        assert fake.call_key(fixed) == fixed
    assert fake.call_key("/markets/slug/a/b") == "/markets/slug/a/b"
    assert fake.call_key("/nowhere") == "/nowhere"


@pytest.mark.asyncio
async def test_new_routes_take_faults(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    market = live_markets(fake)[0]
    other = live_markets(fake)[1]
    token = market.token_ids[0]

    fake.inject("/public-search", "429", retry_after=0.5)
    async with session.get(fake.base_url + "/public-search", params={"q": "will"}) as response:
        assert response.status == 429 and response.headers["Retry-After"] == "0.5"
    assert (await get(session, fake, "/public-search", q="will"))[0] == 200

    # By call key: every slug lookup; by concrete path: only that one.
    fake.inject(CALL_KEY_MARKET_BY_SLUG, "500")
    assert (await get(session, fake, f"/markets/slug/{other.slug}"))[0] == 500
    fake.inject(f"/markets/slug/{market.slug}", "500")
    assert (await get(session, fake, f"/markets/slug/{other.slug}"))[0] == 200
    assert (await get(session, fake, f"/markets/slug/{market.slug}"))[0] == 500
    assert (await get(session, fake, f"/markets/slug/{market.slug}"))[0] == 200

    fake.inject("/prices-history", "truncated")
    async with session.get(
        fake.base_url + "/prices-history", params={"market": token, "interval": "1d"}
    ) as response:
        assert response.status == 200
        with pytest.raises(ValueError):
            json.loads(await response.text())

    fake.inject(CALL_KEY_CLOB_MARKET, "503_html")
    async with session.get(fake.base_url + f"/markets/{market.condition_id}") as response:
        assert response.status == 503 and response.content_type == "text/html"
    fake.inject(CALL_KEY_MARKET_BY_ID, "html403")
    async with session.get(fake.base_url + f"/markets/{market.market_id}") as response:
        assert response.status == 403 and response.content_type == "text/html"

    fake.inject("/markets*", "500", count=3)  # wildcard: the list and every /markets/… route
    for path in ("/markets", "/markets/keyset", f"/markets/slug/{market.slug}"):
        assert (await get(session, fake, path))[0] == 500, path
    assert fake.pending_faults == 0

    fake.fail_all("500")
    for path, params in (
        ("/public-search", {"q": "will"}),
        ("/prices-history", {"market": token, "interval": "1d"}),
        (f"/markets/{market.condition_id}", {}),
    ):
        assert (await get(session, fake, path, **params))[0] == 500, path
    fake.fail_all(None)

    fake.hold = asyncio.Event()
    query = {"market": token, "interval": "1h"}
    pending = asyncio.create_task(get(session, fake, "/prices-history", **query))
    await until(lambda: fake.calls["/prices-history"] == 3)
    await asyncio.sleep(0.05)
    assert not pending.done()
    fake.hold.set()
    assert (await asyncio.wait_for(pending, 2))[0] == 200
    fake.hold = None
    fake.latency = 0.2
    started = time.perf_counter()
    assert (await get(session, fake, f"/markets/slug/{market.slug}"))[0] == 200
    assert time.perf_counter() - started >= 0.2
    fake.latency = 0.0

    assert fake.calls["/public-search"] == 3
    assert fake.calls[CALL_KEY_MARKET_BY_SLUG] == 6
    assert fake.calls[CALL_KEY_CLOB_MARKET] == 2
    assert fake.calls[CALL_KEY_MARKET_BY_ID] == 1
    assert fake.calls["/markets/keyset"] == 1
