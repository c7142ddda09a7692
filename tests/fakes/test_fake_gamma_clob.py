"""Self-test of the Polymarket fake: if the fake drifts from the real wire format or its faults
stop firing, every test built on it would pass for the wrong reason.

Rows are also fed through the bot's own parsers (``bot.polymarket.records``) so a shape change
on either side shows up here first.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.polymarket.records import Activity, ClosedPosition, LeaderboardRow, Market, Position
from tests.fakes.polymarket import (
    CALL_KEY_CLOB_MARKET,
    CALL_KEY_MARKET_BY_ID,
    CALL_KEY_MARKET_BY_SLUG,
    FAULT_KINDS,
    HISTORY_MAX_POINTS,
    SPECIAL_NAMES,
    FakeMarket,
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


# ---------------------------------------------------------------------- Gamma and CLOB markets

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def same_json_types(ours: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Keys both objects carry whose JSON types differ (int and float both count as number)."""

    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return type(value).__name__

    return [
        key
        for key, value in live.items()
        if key in ours and value is not None and kind(ours[key]) != kind(value)
    ]


async def get_pairs(
    session: aiohttp.ClientSession, fake: FakePolymarket, path: str, params: Sequence[tuple]
) -> tuple[int, Any]:
    """GET with repeated query parameters (``slug=a&slug=b``)."""
    query = [(k, str(v)) for k, v in params]
    async with session.get(fake.base_url + path, params=query) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


def open_position(fake: FakePolymarket) -> dict[str, Any]:
    return next(p for t in fake.traders.values() for p in t.positions if not p["redeemable"])


def live_markets(fake: FakePolymarket) -> list[FakeMarket]:
    return [m for m in fake.markets if not m.closed]


def test_gamma_market_objects_have_the_live_shape() -> None:
    fake = FakePolymarket(n_traders=1, seed=1)
    search_market = fixture("gamma_public_search.json")["events"][0]["markets"][0]
    live_open, live_closed = fixture("gamma_market.json"), fixture("gamma_market_closed.json")
    known = set(live_open) | set(live_closed) | set(search_market)
    for market in (live_markets(fake)[0], next(m for m in fake.markets if m.closed)):
        ours = fake.gamma_market(market)
        assert set(ours) <= known, set(ours) - known  # nothing the live API does not send
        for live in (live_open, live_closed, search_market):
            assert same_json_types(ours, live) == []
        for key in ("outcomes", "outcomePrices", "clobTokenIds", "umaResolutionStatuses"):
            assert isinstance(json.loads(ours[key]), list), key
        assert json.loads(ours["clobTokenIds"]) == list(market.token_ids)
        assert float(ours["volume"]) == ours["volumeNum"]
        assert float(ours["liquidity"]) == ours["liquidityNum"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00Z", ours["endDate"])
        assert ours["endDateIso"] == ours["endDate"][:10]
        assert ours["active"] is True
        assert ours["events"][0]["slug"] and ours["events"][0]["title"] == market.event_title
        parsed = Market.from_gamma(ours)
        assert parsed.condition_id == market.condition_id
        assert parsed.token_ids == market.token_ids
        assert parsed.closed is market.closed
        if market.closed:
            assert ours["umaResolutionStatus"] == "resolved" and "closedTime" in ours
            assert ours["acceptingOrders"] is False
            assert json.loads(ours["outcomePrices"])[market.winner] == "1"
            assert parsed.resolved and parsed.winner_index == market.winner
        else:
            assert "umaResolutionStatus" not in ours and ours["acceptingOrders"] is True
            prices = [float(p) for p in json.loads(ours["outcomePrices"])]
            assert prices == pytest.approx(list(market.prices))


@pytest.mark.asyncio
async def test_gamma_markets_filters(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    first, second, third = live_markets(fake)[:3]
    resolved = next(m for m in fake.markets if m.closed)

    async def ids(params: Sequence[tuple]) -> list[str]:
        status, rows = await get_pairs(session, fake, "/markets", params)
        assert status == 200 and isinstance(rows, list)
        return [r["conditionId"] for r in rows]

    both = [first.condition_id, second.condition_id]
    assert await ids([("slug", first.slug), ("slug", second.slug)]) == both
    assert await ids([("slug", f"{first.slug},{second.slug}")]) == both
    assert await ids([("condition_ids", c) for c in both]) == both
    assert await ids([("condition_ids", ",".join(both).upper().replace("0X", "0x"))]) == both
    assert await ids([("id", first.market_id), ("id", third.market_id)]) == [
        first.condition_id,
        third.condition_id,
    ]
    assert await ids([("id", f"{second.market_id},{third.market_id}")]) == [
        second.condition_id,
        third.condition_id,
    ]
    assert await ids([("clob_token_ids", second.token_ids[1])]) == [second.condition_id]
    # Filters combine; ``closed`` defaults to false even for explicit ids (the live trap).
    assert await ids([("slug", first.slug), ("id", second.market_id)]) == []
    assert await ids([("slug", resolved.slug)]) == []
    assert await ids([("slug", resolved.slug), ("closed", "true")]) == [resolved.condition_id]
    assert await ids([("slug", first.slug), ("closed", "true")]) == []

    everything = [m.condition_id for m in live_markets(fake)]
    assert await ids([("limit", 5)]) == everything[:5]
    assert await ids([("limit", 5), ("offset", 5)]) == everything[5:10]
    assert len(await ids([])) == min(100, len(everything))  # default limit
    status, body = await get(session, fake, "/markets", offset=2001)
    assert status == 422 and body["type"] == "validation error" and "keyset" in body["error"]
    status, body = await get(session, fake, "/markets", id="abc")
    assert status == 400 and "error" in body


@pytest.mark.asyncio
async def test_gamma_markets_keyset(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        params = {"limit": 100, **({"after_cursor": cursor} if cursor else {})}
        status, body = await get(session, fake, "/markets/keyset", **params)
        assert status == 200 and set(body) <= {"markets", "next_cursor"}
        seen += [m["id"] for m in body["markets"]]
        cursor = body.get("next_cursor", "")
        if not cursor:
            break
    assert seen == [m.market_id for m in live_markets(fake)]
    _, closed = await get(session, fake, "/markets/keyset", closed="true", limit=1000)
    assert "next_cursor" not in closed
    assert [m["id"] for m in closed["markets"]] == [m.market_id for m in fake.markets if m.closed]
    for bad in ({"offset": 0}, {"after_cursor": "not a cursor"}):
        status, body = await get(session, fake, "/markets/keyset", **bad)
        assert status == 422 and body["type"] == "validation error", bad
    assert fake.calls["/markets/keyset"] >= 4


@pytest.mark.asyncio
async def test_gamma_single_market_routes(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    market = live_markets(fake)[7]
    resolved = next(m for m in fake.markets if m.closed)
    status, by_id = await get(session, fake, f"/markets/{market.market_id}")
    assert status == 200 and by_id == fake.gamma_market(market)
    status, by_slug = await get(session, fake, f"/markets/slug/{market.slug}")
    assert status == 200 and by_slug == by_id
    # Single lookups have no ``closed`` trap: a resolved market comes back as is.
    status, settled = await get(session, fake, f"/markets/slug/{resolved.slug}")
    assert status == 200 and settled["closed"] is True
    status, settled = await get(session, fake, f"/markets/{resolved.market_id}")
    assert status == 200 and settled["conditionId"] == resolved.condition_id

    for path in ("/markets/slug/no-such-market", "/markets/123456789"):
        status, body = await get(session, fake, path)
        assert status == 404 and body == {"type": "not found error", "error": "market not found"}
    status, body = await get(session, fake, "/markets/not-a-number")
    assert status == 422 and body["type"] == "validation error"
    status, body = await get(session, fake, "/markets/slug/a/b")
    assert (status, body) == (404, {"error": "not found"})

    assert fake.calls[CALL_KEY_MARKET_BY_ID] == 4
    assert fake.calls[CALL_KEY_MARKET_BY_SLUG] == 3
    assert fake.calls["/markets/slug/a/b"] == 1
    assert [key for key in fake.calls if key.startswith("/markets/slug/")] == ["/markets/slug/a/b"]


@pytest.mark.asyncio
async def test_clob_market(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    live = fixture("clob_market.json")
    market = live_markets(fake)[3]
    status, body = await get(session, fake, f"/markets/{market.condition_id}")
    assert status == 200
    assert set(body) == set(live)
    assert same_json_types(body, live) == []
    assert body["condition_id"] == market.condition_id and body["market_slug"] == market.slug
    assert body["closed"] is False and body["accepting_orders"] is True
    assert [set(t) for t in body["tokens"]] == [set(t) for t in live["tokens"]]
    for index, token in enumerate(body["tokens"]):
        assert same_json_types(token, live["tokens"][index]) == []
        assert token["token_id"] == market.token_ids[index]
        assert token["outcome"] == market.outcomes[index]
        assert token["price"] == pytest.approx(market.prices[index])
        assert token["winner"] is False
    status, upper = await get(session, fake, f"/markets/0x{market.condition_id[2:].upper()}")
    assert status == 200 and upper["condition_id"] == market.condition_id

    resolved = next(m for m in fake.markets if m.closed)
    _, settled = await get(session, fake, f"/markets/{resolved.condition_id}")
    assert settled["closed"] is True and settled["accepting_orders"] is False
    assert [t["winner"] for t in settled["tokens"]] == [i == resolved.winner for i in (0, 1)]
    assert [t["price"] for t in settled["tokens"]] == [float(i == resolved.winner) for i in (0, 1)]

    status, body = await get(session, fake, "/markets/0x" + "ab" * 32)
    assert status == 404 and isinstance(body["error"], str) and "type" not in body
    status, body = await get(session, fake, "/markets/0x123")
    assert status == 400 and "error" in body
    assert fake.calls[CALL_KEY_CLOB_MARKET] == 5


# ---------------------------------------------------------------------- search


@pytest.mark.asyncio
async def test_public_search_shape_and_matching(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    live = fixture("gamma_public_search.json")
    live_event = live["events"][0]
    status, body = await get(session, fake, "/public-search", q="BITCOIN", limit_per_type=50)
    assert status == 200
    assert set(body) == {"events", "pagination"}
    assert set(body["pagination"]) == set(live["pagination"])
    assert same_json_types(body["pagination"], live["pagination"]) == []
    assert body["events"], "the pool has Bitcoin markets"
    assert body["pagination"]["totalResults"] == len(body["events"])
    assert body["pagination"]["hasMore"] is False
    for event in body["events"]:
        assert set(event) <= set(live_event)
        assert same_json_types(event, live_event) == []
        assert event["markets"]
        texts = [event["title"]] + [m["question"] for m in event["markets"]]
        assert any("bitcoin" in text.lower() for text in texts)
        for market in event["markets"]:
            assert "events" not in market  # embedded markets do not repeat their event
            assert same_json_types(market, live_event["markets"][0]) == []
            assert market["closed"] is False  # keep_closed_markets defaults to false
            Market.from_gamma(dict(market, events=[{"slug": event["slug"]}]))

    # Event title and market question both match, whatever the case.
    hidden = fake.add_market("Will the zyxwv launch happen?", event_title="Quiet Orbital Event")
    for q in ("ZYXWV", "quiet ORBITAL"):
        _, found = await get(session, fake, "/public-search", q=q)
        assert [e["id"] for e in found["events"]] == [hidden["events"][0]["id"]], q
        assert [m["slug"] for m in found["events"][0]["markets"]] == [hidden["slug"]]
    _, nothing = await get(session, fake, "/public-search", q="no market says this")
    assert nothing == {"events": [], "pagination": {"hasMore": False, "totalResults": 0}}

    for params in ({"q": ""}, {"q": "   "}, {}):
        status, body = await get(session, fake, "/public-search", **params)
        assert status == 422 and body["type"] == "validation error", params
    assert fake.calls["/public-search"] == 7


@pytest.mark.asyncio
async def test_public_search_paging_and_closed_markets(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    _, page1 = await get(session, fake, "/public-search", q="will", limit_per_type=5)
    _, page2 = await get(session, fake, "/public-search", q="will", limit_per_type=5, page=2)
    total = page1["pagination"]["totalResults"]
    assert total > 10 and page1["pagination"]["hasMore"] is True
    assert page2["pagination"]["totalResults"] == total
    assert len(page1["events"]) == len(page2["events"]) == 5
    assert not {e["id"] for e in page1["events"]} & {e["id"] for e in page2["events"]}
    last_page = -(-total // 5)
    _, tail = await get(session, fake, "/public-search", q="will", limit_per_type=5, page=last_page)
    assert tail["pagination"]["hasMore"] is False and 1 <= len(tail["events"]) <= 5
    _, default = await get(session, fake, "/public-search", q="will")
    assert len(default["events"]) == 10  # limit_per_type defaults to 10

    # An event mixing open and resolved markets: resolved ones only with keep_closed_markets.
    query = {"q": "Presidential Election Winner", "limit_per_type": 50}
    _, open_only = await get(session, fake, "/public-search", **query)
    _, with_closed = await get(session, fake, "/public-search", **query, keep_closed_markets=1)
    shown = [m["closed"] for e in open_only["events"] for m in e["markets"]]
    everything = [m["closed"] for e in with_closed["events"] for m in e["markets"]]
    assert shown and not any(shown)
    assert any(everything) and not all(everything) and len(everything) > len(shown)
    # Open events come first.
    states = [e["closed"] for e in with_closed["events"]]
    assert states == sorted(states)

    settled = fake.add_market("Will the qwertz vote pass?", prices=(0.9, 0.1), closed=True)
    _, gone = await get(session, fake, "/public-search", q="qwertz")
    assert gone["events"] == []  # a fully resolved event has nothing left to show
    _, kept = await get(session, fake, "/public-search", q="qwertz", keep_closed_markets="true")
    assert kept["events"][0]["closed"] is True
    assert kept["events"][0]["markets"][0]["conditionId"] == settled["conditionId"]
    _, active = await get(
        session, fake, "/public-search", q="qwertz", keep_closed_markets=1, events_status="active"
    )
    assert active["events"] == []


# ---------------------------------------------------------------------- prices history


@pytest.mark.asyncio
async def test_prices_history(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    market = live_markets(fake)[5]
    token = market.token_ids[1]
    query = {"market": token, "interval": "1d", "fidelity": 60}
    status, body = await get(session, fake, "/prices-history", **query)
    assert status == 200 and set(body) == {"history"}
    history = body["history"]
    assert 20 <= len(history) <= 25
    stamps = [p["t"] for p in history]
    assert all(set(p) == {"t", "p"} for p in history)
    assert all(isinstance(p["t"], int) and isinstance(p["p"], float) for p in history)
    assert all(b - a == 3600 for a, b in itertools.pairwise(stamps))
    assert all(0.0 <= p["p"] <= 1.0 for p in history)
    assert 0 <= time.time() - stamps[-1] < 3600 + 5
    assert history[-1]["p"] == market.prices[1]  # the walk ends at the current price
    assert len({p["p"] for p in history}) > 5  # and does walk
    _, again = await get(session, fake, "/prices-history", **query)
    assert again == body  # deterministic

    _, minutes = await get(session, fake, "/prices-history", market=token, interval="1h")
    assert 59 <= len(minutes["history"]) <= 61  # fidelity defaults to 1 minute
    now = int(time.time())
    _, window = await get(
        session, fake, "/prices-history", market=token, startTs=now - 7200, endTs=now - 3600,
        fidelity=10,
    )  # fmt: skip
    assert 5 <= len(window["history"]) <= 7
    assert all(now - 7200 <= p["t"] <= now - 3600 for p in window["history"])
    query = {"market": token, "interval": "max", "fidelity": 1440}
    _, daily = await get(session, fake, "/prices-history", **query)
    assert daily["history"][0]["t"] >= market.start_ts
    assert daily["history"][-1]["p"] == market.prices[1]
    _, capped = await get(session, fake, "/prices-history", market=token, interval="all")
    assert 1000 < len(capped["history"]) <= HISTORY_MAX_POINTS

    # A resolved market's series stops at the resolution: nothing in the last day, the rest
    # through startTs/endTs, ending on 1 or 0.
    resolved = next(m for m in fake.markets if m.closed)
    loser = resolved.token_ids[1 - resolved.winner]
    _, recent = await get(session, fake, "/prices-history", market=loser, interval="1d")
    assert recent == {"history": []}
    _, final = await get(
        session, fake, "/prices-history", market=loser, startTs=resolved.closed_ts - 86_400,
        endTs=resolved.closed_ts + 86_400, fidelity=60,
    )  # fmt: skip
    assert final["history"][-1]["p"] == 0.0
    assert final["history"][-1]["t"] <= resolved.closed_ts

    _, unknown = await get(session, fake, "/prices-history", market="1234567890", interval="1d")
    assert unknown == {"history": []}
    for bad in (
        {},
        {"market": market.condition_id, "interval": "1d"},
        {"market": token, "interval": "2d"},
        {"market": token, "interval": "1d", "startTs": now - 60},
        {"market": token, "fidelity": 0},
        {"market": token, "startTs": "yesterday"},
    ):
        status, body = await get(session, fake, "/prices-history", **bad)
        assert status == 400 and isinstance(body["error"], str), bad
    assert fake.calls["/prices-history"] == 15


# ---------------------------------------------------------------------- market controls


@pytest.mark.asyncio
async def test_add_market_is_served_everywhere(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    market = fake.add_market(
        "Will the Fake Fed cut rates in December?", prices=(0.3, 0.7), slug="fake-fed-cut",
        volume=12_345.5,
    )  # fmt: skip
    assert market["slug"] == "fake-fed-cut" and market["question"].startswith("Will the Fake")
    assert market["outcomes"] == '["Yes", "No"]' and market["outcomePrices"] == '["0.3", "0.7"]'
    assert market["volume"] == "12345.5" and market["volumeNum"] == 12_345.5
    assert market["closed"] is False and market["acceptingOrders"] is True
    assert market["events"][0]["slug"] == "fake-fed-cut"
    assert re.fullmatch(r"0x[0-9a-f]{64}", market["conditionId"])
    tokens = json.loads(market["clobTokenIds"])
    assert len(tokens) == 2 and all(t.isdigit() and len(t) >= 70 for t in tokens)
    assert fake.market_for_token(tokens[1]) == market
    assert fake.market_for_condition(market["conditionId"].upper().replace("0X", "0x")) == market
    assert fake.market_for_token("1") is None
    assert fake.markets[-1].slug == "fake-fed-cut"

    _, listed = await get(session, fake, "/markets", slug="fake-fed-cut")
    assert listed == [market]
    _, by_token = await get(session, fake, "/markets", clob_token_ids=tokens[0])
    assert by_token == [market]
    assert (await get(session, fake, "/markets/slug/fake-fed-cut"))[1] == market
    assert (await get(session, fake, f"/markets/{market['id']}"))[1] == market
    _, clob = await get(session, fake, f"/markets/{market['conditionId']}")
    assert [t["token_id"] for t in clob["tokens"]] == tokens
    assert (await get(session, fake, "/midpoint", token_id=tokens[0]))[1] == {"mid": "0.3"}
    _, found = await get(session, fake, "/public-search", q="fake fed")
    assert found["events"][0]["markets"][0]["conditionId"] == market["conditionId"]
    _, history = await get(session, fake, "/prices-history", market=tokens[1], interval="1w")
    assert history["history"][-1]["p"] == 0.7

    # Deterministic per seed; default slugs stay unique.
    twin = FakePolymarket(n_traders=1, seed=1)
    again = twin.add_market("Will the Fake Fed cut rates in December?", slug="fake-fed-cut")
    assert again["conditionId"] == market["conditionId"]
    assert again["clobTokenIds"] == market["clobTokenIds"]
    first = fake.add_market("Same question?")
    second = fake.add_market("Same question?")
    assert first["slug"] == "same-question" and second["slug"] != first["slug"]
    assert first["conditionId"] != second["conditionId"] and first["id"] != second["id"]
    assert first["events"][0]["id"] != second["events"][0]["id"]
    grouped = [fake.add_market(f"Fake group {n}?", event_title="Fake Group Event") for n in (1, 2)]
    assert grouped[0]["events"] == grouped[1]["events"]
    _, group = await get(session, fake, "/public-search", q="fake group event")
    questions = [m["question"] for m in group["events"][0]["markets"]]
    assert questions == ["Fake group 1?", "Fake group 2?"]

    settled = fake.add_market("Old fake question?", prices=(0.2, 0.8), closed=True)
    assert settled["closed"] is True and settled["outcomePrices"] == '["0", "1"]'
    assert settled["umaResolutionStatus"] == "resolved"
    assert (await get(session, fake, "/markets", slug=settled["slug"]))[1] == []

    with pytest.raises(ValueError):
        fake.add_market("Taken?", slug="fake-fed-cut")
    with pytest.raises(ValueError):
        fake.add_market("Three way?", outcomes=("A", "B", "C"), prices=(0.2, 0.3, 0.5))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        fake.add_market("Bad price?", prices=(1.2, -0.2))


@pytest.mark.asyncio
async def test_set_price_moves_every_view(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    position = open_position(fake)
    token, index = position["asset"], position["outcomeIndex"]
    fake.set_price(token, 0.25)
    _, mid = await get(session, fake, "/midpoint", token_id=token)
    assert mid == {"mid": "0.25"}
    _, gamma = await get(session, fake, "/markets", condition_ids=position["conditionId"])
    prices = json.loads(gamma[0]["outcomePrices"])
    assert prices[index] == "0.25" and prices[1 - index] == "0.75"
    _, book = await get(session, fake, "/book", token_id=token)
    assert book["bids"][-1]["price"] == "0.24" and book["asks"][-1]["price"] == "0.26"
    assert book["last_trade_price"] == "0.25"
    _, price = await get(session, fake, "/price", token_id=token, side="BUY")
    assert float(price["price"]) == pytest.approx(0.24)
    _, clob = await get(session, fake, f"/markets/{position['conditionId']}")
    assert clob["tokens"][index]["price"] == 0.25 and clob["tokens"][1 - index]["price"] == 0.75
    _, history = await get(session, fake, "/prices-history", market=token, interval="6h")
    assert history["history"][-1]["p"] == 0.25
    assert fake.market_for_token(token) == gamma[0]
    # Open positions on the market follow (the trader's leaderboard totals do not).
    _, rows = await get(
        session, fake, "/positions", user=position["proxyWallet"], market=position["conditionId"]
    )
    for row in rows:
        expected = 0.25 if row["asset"] == token else 0.75
        assert row["curPrice"] == expected
        assert row["currentValue"] == pytest.approx(row["size"] * expected)
        assert row["cashPnl"] == pytest.approx(row["currentValue"] - row["initialValue"])

    with pytest.raises(KeyError):
        fake.set_price("123", 0.5)
    with pytest.raises(ValueError):
        fake.set_price(token, 1.5)
    resolved = next(m for m in fake.markets if m.closed)
    with pytest.raises(ValueError):
        fake.set_price(resolved.token_ids[0], 0.5)


@pytest.mark.asyncio
async def test_resolve_market(fake: FakePolymarket, session: aiohttp.ClientSession) -> None:
    position = open_position(fake)
    condition_id, index = position["conditionId"], position["outcomeIndex"]
    winner_token = position["asset"]
    loser_token = position["oppositeAsset"]
    fake.resolve_market(condition_id.upper().replace("0X", "0x"), index)

    _, hidden = await get(session, fake, "/markets", condition_ids=condition_id)
    assert hidden == []  # resolved markets leave the default (closed=false) listing
    _, shown = await get(session, fake, "/markets", condition_ids=condition_id, closed="true")
    gamma = shown[0]
    assert gamma["closed"] is True and gamma["active"] is True
    assert gamma["acceptingOrders"] is False
    assert gamma["umaResolutionStatus"] == "resolved" and gamma["closedTime"].endswith("+00")
    expected = ["0", "0"]
    expected[index] = "1"
    assert gamma["outcomePrices"] == json.dumps(expected)
    parsed = Market.from_gamma(gamma)
    assert parsed.resolved and parsed.winner_index == index
    assert (await get(session, fake, f"/markets/slug/{position['slug']}"))[1] == gamma

    _, clob = await get(session, fake, f"/markets/{condition_id}")
    assert clob["closed"] is True and clob["accepting_orders"] is False
    assert [t["winner"] for t in clob["tokens"]] == [i == index for i in (0, 1)]
    for path in ("/book", "/midpoint"):
        status, body = await get(session, fake, path, token_id=winner_token)
        assert status == 404 and "orderbook" in body["error"], path
    _, history = await get(session, fake, "/prices-history", market=winner_token, interval="1d")
    assert history["history"][-1]["p"] == 1.0
    _, history = await get(session, fake, "/prices-history", market=loser_token, interval="1d")
    assert history["history"][-1]["p"] == 0.0

    _, rows = await get(
        session, fake, "/positions", user=position["proxyWallet"], market=condition_id
    )
    assert rows and all(r["redeemable"] for r in rows)
    for row in rows:
        assert row["curPrice"] == (1.0 if row["asset"] == winner_token else 0.0)
        Position.from_api(row)

    # The market pool is shared between fakes: the change stays in this one.
    other = FakePolymarket(n_traders=1, seed=1)
    assert other.markets_by_condition[condition_id].closed is False
    assert fake.make_trader(3).wallet == list(fake.traders)[3]  # still deterministic
    with pytest.raises(KeyError):
        fake.resolve_market("0x" + "ab" * 32, 0)
    with pytest.raises(ValueError):
        fake.resolve_market(condition_id, 2)


@pytest.mark.asyncio
async def test_rows_point_at_served_markets(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    """Token ids, condition ids and slugs agree across the Data API, Gamma and the CLOB."""
    for trader in list(fake.traders.values())[:20]:
        for row in trader.positions + trader.closed_positions + trader.activity:
            market = fake.markets_by_condition[row["conditionId"]]
            assert row["slug"] == market.slug and row["title"] == market.title
            assert row["asset"] in market.token_ids
            if row["outcomeIndex"] != 999:
                assert market.token_ids[row["outcomeIndex"]] == row["asset"]
                assert market.outcomes[row["outcomeIndex"]] == row["outcome"]
            if row.get("eventSlug"):
                assert row["eventSlug"] == fake.gamma_market(market)["events"][0]["slug"]

    position = open_position(fake)
    index = position["outcomeIndex"]
    _, gamma = await get(session, fake, f"/markets/slug/{position['slug']}")
    assert gamma["conditionId"] == position["conditionId"]
    assert json.loads(gamma["clobTokenIds"])[index] == position["asset"]
    assert json.loads(gamma["clobTokenIds"])[1 - index] == position["oppositeAsset"]
    assert json.loads(gamma["outcomes"])[index] == position["outcome"]
    assert float(json.loads(gamma["outcomePrices"])[index]) == pytest.approx(position["curPrice"])
    assert gamma["events"][0]["id"] == position["eventId"]
    _, clob = await get(session, fake, f"/markets/{position['conditionId']}")
    assert clob["market_slug"] == position["slug"]
    assert clob["tokens"][index]["token_id"] == position["asset"]
    _, by_event = await get(
        session, fake, "/positions", user=position["proxyWallet"], eventId=position["eventId"]
    )
    assert position["asset"] in {r["asset"] for r in by_event}

    closed = next(c for t in fake.traders.values() for c in t.closed_positions)
    _, settled = await get(
        session, fake, "/markets", condition_ids=closed["conditionId"], closed="true"
    )
    assert json.loads(settled[0]["clobTokenIds"])[closed["outcomeIndex"]] == closed["asset"]


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
