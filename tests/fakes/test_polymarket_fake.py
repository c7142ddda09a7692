"""Self-test of the Polymarket fake: if the fake drifts from the real wire format or its faults
stop firing, every test built on it would pass for the wrong reason.

Rows are also fed through the bot's own parsers (``bot.polymarket.records``) so a shape change
on either side shows up here first.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.polymarket.records import Activity, ClosedPosition, LeaderboardRow, Position
from tests.fakes.polymarket import (
    FAULT_KINDS,
    SPECIAL_NAMES,
    FakePolymarket,
    FakeTrader,
)

LEADERBOARD_KEYS = {
    "rank", "proxyWallet", "userName", "xUsername", "verifiedBadge", "vol", "pnl", "profileImage",
}  # fmt: skip
POSITION_KEYS = {
    "proxyWallet", "asset", "conditionId", "size", "avgPrice", "initialValue", "currentValue",
    "cashPnl", "percentPnl", "totalBought", "realizedPnl", "percentRealizedPnl", "curPrice",
    "redeemable", "mergeable", "title", "slug", "icon", "eventSlug", "outcome", "outcomeIndex",
    "oppositeOutcome", "oppositeAsset", "endDate", "negativeRisk", "eventId",
}  # fmt: skip
CLOSED_KEYS = {
    "proxyWallet", "asset", "conditionId", "avgPrice", "totalBought", "realizedPnl", "curPrice",
    "timestamp", "title", "slug", "icon", "eventSlug", "outcome", "outcomeIndex",
    "oppositeOutcome", "oppositeAsset", "endDate",
}  # fmt: skip
ACTIVITY_KEYS = {
    "proxyWallet", "timestamp", "conditionId", "type", "size", "usdcSize", "transactionHash",
    "price", "asset", "side", "outcomeIndex", "title", "slug", "icon", "eventSlug", "outcome",
    "name", "pseudonym", "bio", "profileImage", "profileImageOptimized",
}  # fmt: skip
TRADE_KEYS = {
    "proxyWallet", "side", "asset", "conditionId", "size", "price", "timestamp", "title", "slug",
    "icon", "eventSlug", "outcome", "outcomeIndex", "name", "pseudonym", "bio", "profileImage",
    "profileImageOptimized", "transactionHash",
}  # fmt: skip
LOWER_WALLET = re.compile(r"^0x[0-9a-f]{40}$")
UNKNOWN_WALLET = "0x" + "ab" * 20


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


async def get(
    session: aiohttp.ClientSession, fake: FakePolymarket, path: str, **params: Any
) -> tuple[int, Any]:
    """GET and decode; JSON 200s and 4xxs are the cases these tests read."""
    query = {k: str(v) for k, v in params.items()}
    async with session.get(fake.base_url + path, params=query) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def until(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Poll ``condition``: the fake's counters are plain attributes with no event to await."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def a_trader(fake: FakePolymarket, kind: str = "regular") -> FakeTrader:
    return next(t for t in fake.traders.values() if t.kind == kind)


# ---------------------------------------------------------------------- generation


def test_generation_is_deterministic_and_fast() -> None:
    started = time.perf_counter()
    first = FakePolymarket(n_traders=60, seed=1)
    assert time.perf_counter() - started < 1.0  # ~50 ms on a slow CI box; generous bound
    second = FakePolymarket(n_traders=60, seed=1)
    other = FakePolymarket(n_traders=60, seed=2)
    assert list(first.traders) == list(second.traders)
    for wallet, trader in first.traders.items():
        twin = second.traders[wallet]
        assert trader.user_name == twin.user_name
        assert trader.pnl == twin.pnl
        assert trader.vol == twin.vol
        assert len(trader.activity) == len(twin.activity)
        assert [c["realizedPnl"] for c in trader.closed_positions] == [
            c["realizedPnl"] for c in twin.closed_positions
        ]
    assert set(first.traders).isdisjoint(other.traders)
    # make_trader is independent of the other indices.
    assert first.make_trader(5).wallet == list(first.traders)[5]


def test_trader_spreads() -> None:
    fake = FakePolymarket(n_traders=60, seed=1)
    traders = list(fake.traders.values())
    assert len(traders) == 60
    assert len({t.wallet for t in traders}) == 60
    assert len({t.user_name for t in traders}) == 60
    for trader in traders:
        assert LOWER_WALLET.match(trader.wallet)
        assert set(trader.pnl) == set(trader.vol) == {"DAY", "WEEK", "MONTH", "ALL"}
        assert trader.vol["DAY"] <= trader.vol["WEEK"] <= trader.vol["MONTH"] <= trader.vol["ALL"]
        assert 5 <= len(trader.positions) <= 20
        assert 10 <= len(trader.closed_positions) <= 60
        assert 20 <= len(trader.activity) <= 100
        stamps = [a["timestamp"] for a in trader.activity]
        assert stamps == sorted(stamps, reverse=True)
        assert all(fake.now - 200 * 86_400 <= s <= fake.now for s in stamps)

    makers = [t for t in traders if t.kind == "maker"]
    assert len(makers) >= 2
    for maker in makers:
        assert maker.vol["ALL"] > 1_000_000
        assert abs(maker.pnl["ALL"]) < maker.vol["ALL"] / 1000

    lucky = [t for t in traders if t.kind == "lucky"]
    assert len(lucky) >= 2
    for trader in lucky:
        best = max(c["realizedPnl"] for c in trader.closed_positions)
        assert best > 0.5 * trader.pnl["ALL"] > 0

    losers = [t for t in traders if t.pnl["ALL"] < 0]
    assert len(losers) >= 6

    default_names = [t for t in traders if re.fullmatch(r"0x[0-9a-fA-F]{40}-\d{13}", t.user_name)]
    assert 4 <= len(default_names) <= 8
    assert any(n != n.lower() for n in default_names[0].user_name.split("-")[:1])
    names = {t.user_name for t in traders}
    assert any("@everyone" in n for n in names)
    assert any("**bold**" in n for n in names)
    assert set(SPECIAL_NAMES.values()) <= names


def test_build_scales() -> None:
    """A cheap proxy for the 5,000-trader benchmark: 500 traders stay well under a second."""
    started = time.perf_counter()
    fake = FakePolymarket(n_traders=500, seed=3)
    assert time.perf_counter() - started < 2.5
    assert len(fake.traders) == 500


def test_inject_rejects_unknown_kind() -> None:
    fake = FakePolymarket(n_traders=1)
    with pytest.raises(ValueError):
        fake.inject("/positions", "418")
    with pytest.raises(ValueError):
        fake.fail_all("418")


# ---------------------------------------------------------------------- leaderboard


@pytest.mark.asyncio
async def test_leaderboard_defaults_shape_and_parsers(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    status, rows = await get(session, fake, "/v1/leaderboard")
    assert status == 200
    assert isinstance(rows, list) and len(rows) == 25  # default limit
    assert [r["rank"] for r in rows] == [str(n) for n in range(1, 26)]
    for row in rows:
        assert set(row) == LEADERBOARD_KEYS
        assert LOWER_WALLET.match(row["proxyWallet"])
        assert isinstance(row["verifiedBadge"], bool)
        parsed = LeaderboardRow.from_api(row)
        assert parsed.wallet == row["proxyWallet"]
    pnls = [r["pnl"] for r in rows]
    assert pnls == sorted(pnls, reverse=True)  # default DAY / PNL
    best = max(fake.traders.values(), key=lambda t: t.pnl["DAY"])
    assert rows[0]["proxyWallet"] == best.wallet
    assert rows[0]["pnl"] == best.pnl["DAY"]


@pytest.mark.asyncio
async def test_leaderboard_paging_and_ordering(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    _, page1 = await get(
        session, fake, "/v1/leaderboard", timePeriod="ALL", orderBy="VOL", limit=50, offset=0
    )
    _, page2 = await get(
        session, fake, "/v1/leaderboard", timePeriod="ALL", orderBy="VOL", limit=50, offset=50
    )
    assert len(page1) == 50 and len(page2) == 10
    assert page2[0]["rank"] == "51"
    vols = [r["vol"] for r in page1 + page2]
    assert vols == sorted(vols, reverse=True)
    assert {r["proxyWallet"] for r in page1 + page2} == set(fake.traders)
    maker = a_trader(fake, "maker")
    assert maker.wallet in {r["proxyWallet"] for r in page1[:5]}

    # The real API never returns more than 50 rows, whatever limit says.
    _, clamped = await get(session, fake, "/v1/leaderboard", timePeriod="ALL", limit=100)
    assert len(clamped) == 50
    _, beyond = await get(session, fake, "/v1/leaderboard", offset=1000)
    assert beyond == []

    # A test may edit a trader in place; the next request reflects it.
    target = list(fake.traders.values())[10]
    target.pnl["WEEK"] = 10_000_000.0
    _, top = await get(session, fake, "/v1/leaderboard", timePeriod="WEEK", limit=1)
    assert top[0]["proxyWallet"] == target.wallet and top[0]["rank"] == "1"


@pytest.mark.asyncio
async def test_leaderboard_user_filter_and_category(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    _, full = await get(session, fake, "/v1/leaderboard", timePeriod="MONTH", limit=50)
    wallet = full[7]["proxyWallet"]
    mixed_case = "0x" + wallet[2:].upper()  # the API accepts any case, answers lowercase
    _, one = await get(session, fake, "/v1/leaderboard", timePeriod="MONTH", user=mixed_case)
    assert one == [full[7]]
    _, none = await get(session, fake, "/v1/leaderboard", user=UNKNOWN_WALLET)
    assert none == []
    _, sports = await get(session, fake, "/v1/leaderboard", category="SPORTS", limit=50)
    assert 0 < len(sports) < 60


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "params",
    [
        {"timePeriod": "YEAR"},
        {"timePeriod": "day"},
        {"orderBy": "ROI"},
        {"limit": 0},
        {"limit": "ten"},
        {"offset": 1001},
        {"offset": -1},
        {"category": "NOPE"},
        {"user": "0x123"},
    ],
)
async def test_leaderboard_validation(
    fake: FakePolymarket, session: aiohttp.ClientSession, params: dict[str, Any]
) -> None:
    status, body = await get(session, fake, "/v1/leaderboard", **params)
    assert status == 400
    assert isinstance(body, dict) and isinstance(body["error"], str)


# ---------------------------------------------------------------------- per-user endpoints


@pytest.mark.asyncio
async def test_positions(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    trader = a_trader(fake)
    status, rows = await get(session, fake, "/positions", user=trader.wallet)
    assert status == 200
    assert len(rows) == len(trader.positions)
    sizes = [r["size"] for r in rows]
    assert sizes == sorted(sizes, reverse=True)  # default TOKENS DESC
    for row in rows:
        assert set(row) == POSITION_KEYS
        assert row["proxyWallet"] == trader.wallet
        assert isinstance(row["outcomeIndex"], int) and isinstance(row["asset"], str)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["endDate"])
        Position.from_api(row)

    _, by_pnl = await get(
        session, fake, "/positions", user=trader.wallet, sortBy="CASHPNL", sortDirection="ASC"
    )
    cash = [r["cashPnl"] for r in by_pnl]
    assert cash == sorted(cash)
    _, paged = await get(session, fake, "/positions", user=trader.wallet, limit=2, offset=1)
    assert paged == rows[1:3]
    one_market = rows[0]["conditionId"]
    _, filtered = await get(session, fake, "/positions", user=trader.wallet, market=one_market)
    assert filtered and all(r["conditionId"] == one_market for r in filtered)

    status, empty = await get(session, fake, "/positions", user=UNKNOWN_WALLET)
    assert (status, empty) == (200, [])
    for bad in ({}, {"user": "nope"}, {"user": trader.wallet, "limit": 501},
                {"user": trader.wallet, "sortBy": "SIZE"},
                {"user": trader.wallet, "sortDirection": "UP"}):  # fmt: skip
        status, body = await get(session, fake, "/positions", **bad)
        assert status == 400 and "error" in body, bad


@pytest.mark.asyncio
async def test_closed_positions(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    trader = a_trader(fake, "lucky")
    _, rows = await get(session, fake, "/closed-positions", user=trader.wallet)
    assert len(rows) == 10  # default limit
    pnls = [r["realizedPnl"] for r in rows]
    assert pnls == sorted(pnls, reverse=True)  # default REALIZEDPNL DESC
    assert rows[0]["realizedPnl"] == max(c["realizedPnl"] for c in trader.closed_positions)
    for row in rows:
        assert set(row) == CLOSED_KEYS
        assert isinstance(row["timestamp"], int)
        assert row["endDate"].endswith("T00:00:00Z")
        ClosedPosition.from_api(row)

    _, recent = await get(
        session,
        fake,
        "/closed-positions",
        user=trader.wallet,
        limit=50,
        sortBy="TIMESTAMP",
        sortDirection="DESC",
    )
    assert len(recent) == min(50, len(trader.closed_positions))
    stamps = [r["timestamp"] for r in recent]
    assert stamps == sorted(stamps, reverse=True)

    status, body = await get(session, fake, "/closed-positions", user=trader.wallet, limit=51)
    assert status == 400 and "error" in body
    status, body = await get(session, fake, "/closed-positions", user=trader.wallet, sortBy="X")
    assert status == 400


@pytest.mark.asyncio
async def test_activity(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    trader = a_trader(fake, "maker")
    _, rows = await get(
        session,
        fake,
        "/activity",
        user=trader.wallet,
        type="TRADE",
        sortBy="TIMESTAMP",
        sortDirection="DESC",
    )
    assert len(rows) == len(trader.activity)
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    for row in rows:
        assert set(row) == ACTIVITY_KEYS
        assert row["type"] == "TRADE" and row["side"] in ("BUY", "SELL")
        assert isinstance(row["timestamp"], int)
        assert re.fullmatch(r"0x[0-9a-f]{64}", row["transactionHash"])
        assert row["name"] == trader.user_name
        Activity.from_api(row)

    middle = stamps[len(stamps) // 2]
    _, newer = await get(session, fake, "/activity", user=trader.wallet, start=middle)
    assert newer and all(r["timestamp"] >= middle for r in newer)
    _, older = await get(session, fake, "/activity", user=trader.wallet, end=middle, limit=5)
    assert len(older) == 5 and all(r["timestamp"] <= middle for r in older)
    _, redeems = await get(session, fake, "/activity", user=trader.wallet, type="REDEEM")
    assert redeems == []
    _, page = await get(session, fake, "/activity", user=trader.wallet, limit=3, offset=3)
    assert page == rows[3:6]

    for bad in ({"user": trader.wallet, "type": "SWAP"},
                {"user": trader.wallet, "limit": 501},
                {"user": trader.wallet, "offset": 5000},
                {"user": "0x" + "g" * 40}):  # fmt: skip
        status, body = await get(session, fake, "/activity", **bad)
        assert status == 400 and "error" in body, bad


@pytest.mark.asyncio
async def test_trades(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    trader = a_trader(fake, "maker")
    _, everything = await get(session, fake, "/trades", user=trader.wallet, takerOnly="false")
    _, taker = await get(session, fake, "/trades", user=trader.wallet)
    assert len(everything) == len(trader.activity)
    assert len(taker) < len(everything)  # a maker is mostly the maker side
    for row in everything:
        assert set(row) == TRADE_KEYS
        assert row["proxyWallet"] == trader.wallet
    stamps = [r["timestamp"] for r in everything]
    assert stamps == sorted(stamps, reverse=True)

    _, tape = await get(session, fake, "/trades", limit=40, takerOnly="false")
    assert len(tape) == 40
    tape_stamps = [r["timestamp"] for r in tape]
    assert tape_stamps == sorted(tape_stamps, reverse=True)
    newest = max(a["timestamp"] for t in fake.traders.values() for a in t.activity)
    assert tape_stamps[0] == newest

    status, _ = await get(session, fake, "/trades", filterType="CASH")
    assert status == 400
    status, _ = await get(session, fake, "/trades", offset=10_001)
    assert status == 400


@pytest.mark.asyncio
async def test_value_traded_gamma_clob_and_404(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    trader = a_trader(fake)
    _, value = await get(session, fake, "/value", user=trader.wallet)
    assert value == [
        {"user": trader.wallet, "value": sum(p["currentValue"] for p in trader.positions)}
    ]
    _, traded = await get(session, fake, "/traded", user=trader.wallet)
    assert traded["user"] == trader.wallet and traded["traded"] > 0

    position = next(p for p in trader.positions if not p["redeemable"])
    _, markets = await get(session, fake, "/markets", condition_ids=position["conditionId"])
    assert len(markets) == 1
    assert json.loads(markets[0]["clobTokenIds"])[position["outcomeIndex"]] == position["asset"]
    assert isinstance(markets[0]["outcomePrices"], str) and isinstance(markets[0]["volume"], str)
    resolved = next(p for t in fake.traders.values() for p in t.closed_positions)
    _, hidden = await get(session, fake, "/markets", condition_ids=resolved["conditionId"])
    assert hidden == []  # the closed=false default trap
    _, shown = await get(
        session, fake, "/markets", condition_ids=resolved["conditionId"], closed="true"
    )
    assert len(shown) == 1 and shown[0]["closed"] is True

    _, book = await get(session, fake, "/book", token_id=position["asset"])
    bids = [float(b["price"]) for b in book["bids"]]
    asks = [float(a["price"]) for a in book["asks"]]
    assert bids == sorted(bids) and asks == sorted(asks, reverse=True)  # best level last
    assert max(bids) < min(asks)
    _, mid = await get(session, fake, "/midpoint", token_id=position["asset"])
    assert float(mid["mid"]) == pytest.approx(position["curPrice"])
    status, missing = await get(session, fake, "/book", token_id=resolved["asset"])
    assert status == 404 and "orderbook" in missing["error"]

    status, body = await get(session, fake, "/v2/leaderboard")
    assert (status, body) == (404, {"error": "not found"})
    assert fake.calls["/v2/leaderboard"] == 1


# ---------------------------------------------------------------------- faults and control


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


@pytest.mark.asyncio
async def test_add_trader_is_served(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    extra = fake.make_trader(1000)
    assert extra.wallet not in fake.traders
    extra.pnl["DAY"] = 1e9
    fake.add_trader(extra)
    _, top = await get(session, fake, "/v1/leaderboard", limit=1)
    assert top[0]["proxyWallet"] == extra.wallet
    _, rows = await get(session, fake, "/positions", user=extra.wallet)
    assert len(rows) == len(extra.positions)


def test_fault_kinds_are_the_documented_ones() -> None:
    assert {"500", "503_html", "429", "html403", "timeout", "truncated", "junk200"} == FAULT_KINDS
