"""Self-test of the Polymarket fake's Data API routes (leaderboard and per-user endpoints).

Rows are also fed through the bot's own parsers (``bot.polymarket.records``) so a shape change
on either side shows up here first.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest

from bot.polymarket.records import Activity, ClosedPosition, LeaderboardRow, Position
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.polymarket_helpers import (
    ACTIVITY_KEYS,
    CLOSED_KEYS,
    LEADERBOARD_KEYS,
    LOWER_WALLET,
    POSITION_KEYS,
    TRADE_KEYS,
    UNKNOWN_WALLET,
    a_trader,
    get,
)

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
async def test_category_boards_rank_each_traders_rows_in_that_category(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    """Each pool market is in one of four categories (sports, politics, crypto, weather): a
    trader's volumes in them add up to its overall volume, and each board ranks its own."""
    boards = {}
    for category in ("SPORTS", "POLITICS", "CRYPTO", "WEATHER"):
        pages = []
        for offset in (0, 50):
            _, rows = await get(
                session, fake, "/v1/leaderboard", category=category, timePeriod="ALL",
                orderBy="VOL", limit=50, offset=offset,
            )  # fmt: skip
            pages += rows
        vols = [r["vol"] for r in pages]
        assert vols == sorted(vols, reverse=True) and len(pages) > 10
        boards[category] = {r["proxyWallet"]: r["vol"] for r in pages}
    for trader in fake.traders.values():
        total = sum(board.get(trader.wallet, 0.0) for board in boards.values())
        assert total == pytest.approx(trader.vol["ALL"])
    assert len({tuple(board) for board in boards.values()}) == 4  # four different orders
    _, culture = await get(session, fake, "/v1/leaderboard", category="CULTURE")
    assert culture == []  # no market of the pool is in it
    # a market a test adds in a category counts there
    market = fake.add_market("Will it snow?", category="weather")
    trader = a_trader(fake)
    trader.activity.append(
        {**trader.activity[0], "conditionId": market["conditionId"], "usdcSize": 1e9}
    )
    trader.category_cache.clear()
    _, top = await get(session, fake, "/v1/leaderboard", category="WEATHER", timePeriod="ALL",
                       orderBy="VOL", limit=1)  # fmt: skip
    assert top[0]["proxyWallet"] == trader.wallet


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


@pytest.mark.asyncio
async def test_platform_trades_filtered_on_cash_and_time(
    fake: FakePolymarket, session: aiohttp.ClientSession
) -> None:
    """The whale recovery query: the platform's fills of at least $X since a moment."""
    rows = [a for t in fake.traders.values() for a in t.activity if a["type"] == "TRADE"]
    threshold = sorted(r["size"] * r["price"] for r in rows)[len(rows) * 3 // 4]
    since = sorted(r["timestamp"] for r in rows)[len(rows) // 2]
    _, big = await get(
        session, fake, "/trades", takerOnly="false", filterType="CASH",
        filterAmount=threshold, start=since, limit=10_000,
    )  # fmt: skip
    expected = [r for r in rows if r["size"] * r["price"] >= threshold and r["timestamp"] >= since]
    assert len(big) == len(expected) > 0
    assert all(r["size"] * r["price"] >= threshold and r["timestamp"] >= since for r in big)
    last_key, last_query = fake.queries[-1]
    assert last_key == "/trades" and last_query["filterType"] == "CASH"
