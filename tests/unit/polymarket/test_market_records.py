"""Gamma market objects: JSON inside strings, resolved state, V2 ids, search results."""

from __future__ import annotations

import json

import pytest

from bot.polymarket.records import Market, RecordError, json_list
from tests.conftest import FIXTURES


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_open_market_from_the_live_fixture() -> None:
    market = Market.from_gamma(load("gamma_market.json"))
    assert market.outcomes == ("Yes", "No")
    assert market.prices == (0.2325, 0.7675)
    assert len(market.token_ids) == 2 and market.token_ids[0].startswith("5453304381994659")
    assert market.volume == pytest.approx(25814545.294374414)
    assert not market.closed and not market.resolved and market.winner_index is None
    assert market.event_slug == "democratic-presidential-nominee-2028"


def test_resolved_market_has_a_winner() -> None:
    market = Market.from_gamma(load("gamma_market_closed.json"))
    assert market.closed and market.resolved
    assert market.prices == (0.0, 1.0) and market.winner_index == 1


def test_search_results_parse() -> None:
    body = load("gamma_public_search.json")
    markets = [Market.from_gamma(m) for e in body["events"] for m in e["markets"]]
    assert markets and all(m.condition_id.startswith("0x") for m in markets)


def test_arrays_may_already_be_arrays_and_v2_uses_position_ids() -> None:
    row = load("gamma_market.json")
    row.update(
        outcomes=["A", "B"],
        outcomePrices=["0.1", "0.9"],
        clobTokenIds=None,
        positionIds=["11", "22"],
        closed="false",
    )
    market = Market.from_gamma(row)
    assert market.outcomes == ("A", "B") and market.token_ids == ("11", "22")
    assert market.prices == (0.1, 0.9) and market.closed is False


def test_junk_is_handled() -> None:
    assert json_list("not json") == [] and json_list(None) == [] and json_list('{"a":1}') == []
    row = load("gamma_market.json")
    row["outcomePrices"] = '["0.5"]'  # misaligned with outcomes: unknown rather than wrong
    assert Market.from_gamma(row).prices == (-1.0, -1.0)
    with pytest.raises(RecordError):
        Market.from_gamma({"conditionId": "0x12"})
