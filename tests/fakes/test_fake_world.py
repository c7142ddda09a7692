"""Self-test of the Polymarket fake's world: generated traders and markets, and the controls.

Generation must be deterministic, fast and spread like real traders (makers, lucky bets, losers,
names that need escaping); a trader or market a test adds, a price it moves and a market it
resolves must show up consistently in the Data API, Gamma and the CLOB.
"""

from __future__ import annotations

import json
import re
import time

import aiohttp
import pytest

from bot.polymarket.records import Market, Position
from tests.fakes.polymarket import SPECIAL_NAMES, FakePolymarket
from tests.fakes.polymarket_helpers import LOWER_WALLET, get, open_position

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
