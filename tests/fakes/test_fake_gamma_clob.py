"""Self-test of the Polymarket fake's Gamma and CLOB routes against the live captures.

Objects are compared key by key and JSON type by JSON type with ``tests/fixtures/polymarket``
and parsed with the bot's own ``bot.polymarket.records``, so a shape change on either side shows
up here first.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Sequence

import aiohttp
import pytest

from bot.polymarket.records import Market
from tests.fakes.polymarket import (
    CALL_KEY_CLOB_MARKET,
    CALL_KEY_MARKET_BY_ID,
    CALL_KEY_MARKET_BY_SLUG,
    HISTORY_MAX_POINTS,
    FakePolymarket,
)
from tests.fakes.polymarket_helpers import fixture, get, get_pairs, live_markets, same_json_types

# ---------------------------------------------------------------------- Gamma and CLOB markets


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
