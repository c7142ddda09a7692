"""The fill model on real CLOB books: pure functions, no database.

The promises: the fill model walks real CLOB books (worst-first levels, best = last) best-first,
never past the slippage limit and never beyond the order; a pass over many orders decides
nothing on upstream trouble and counts a vanished market towards LOST only in a sync.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.copytrading.fills import (
    FillPlan,
    best_ask,
    best_bid,
    book_mid,
    fill_totals,
    is_complete,
    limit_price,
    parse_levels,
    plan_fills,
    sell_fraction,
    status_after_fill,
    walk_book,
)
from bot.copytrading.models import MISSING_BOOK, Level, OrderStatus
from tests.conftest import FIXTURES
from tests.unit.copytrading.factories import make_market, make_order


def load_book(name: str) -> dict[str, object]:
    return json.loads((FIXTURES / name).read_text())


# ---- fill model on fixture books -------------------------------------------------------------


def test_parse_levels_reads_strings_and_drops_junk() -> None:
    raw = [
        {"price": "0.5", "size": "10"},
        {"price": "x", "size": "1"},
        {"price": "0.4", "size": "0"},
        {"price": "1.5", "size": "3"},
        "junk",
    ]
    assert parse_levels(raw) == [Level(0.5, 10.0)]
    assert parse_levels(None) == []


def test_best_levels_are_the_last_elements_of_a_live_book() -> None:
    book = load_book("clob_book_legacy.json")
    bids, asks = parse_levels(book["bids"]), parse_levels(book["asks"])
    assert best_bid(bids) == 0.1 == bids[-1].price
    assert best_ask(asks) == 0.14 == asks[-1].price
    assert asks[0].price == 0.98  # what indexing [0] would wrongly call the best ask
    assert book_mid(book) == pytest.approx(0.12)


def test_buy_fills_fully_at_the_best_ask() -> None:
    asks = parse_levels(load_book("clob_book_legacy.json")["asks"])
    fills = walk_book(asks, "BUY", 50.0, limit_price("BUY", 0.13, 0.02))
    shares, usd = fill_totals(fills)
    assert [f.price for f in fills] == [0.14]
    assert usd == pytest.approx(50.0)
    assert shares == pytest.approx(50.0 / 0.14)
    assert is_complete("BUY", 50.0, usd)


def test_buy_fills_partially_when_the_limit_stops_the_walk() -> None:
    asks = parse_levels(load_book("clob_book_legacy.json")["asks"])
    fills = walk_book(asks, "BUY", 200.0, limit_price("BUY", 0.13, 0.02))
    shares, usd = fill_totals(fills)
    assert shares == pytest.approx(705.0)  # the whole 0.14 level; 0.2 is beyond 0.15
    assert usd == pytest.approx(98.7)
    assert status_after_fill("BUY", 200.0, usd) == OrderStatus.PARTIAL


def test_buy_walks_several_levels_cheapest_first() -> None:
    asks = parse_levels(load_book("clob_book_legacy.json")["asks"])
    fills = walk_book(asks, "BUY", 110.0, 0.2)
    assert [f.price for f in fills] == [0.14, 0.2]
    shares, usd = fill_totals(fills)
    assert usd == pytest.approx(110.0)
    assert shares == pytest.approx(705 + (110.0 - 98.7) / 0.2)


def test_nothing_within_the_slippage_limit_stays_pending() -> None:
    asks = parse_levels(load_book("clob_book_legacy.json")["asks"])
    assert walk_book(asks, "BUY", 50.0, limit_price("BUY", 0.10, 0.02)) == []
    assert status_after_fill("BUY", 50.0, 0.0) == OrderStatus.PENDING


def test_sell_walks_bids_dearest_first() -> None:
    bids = parse_levels(load_book("clob_book_legacy.json")["bids"])
    fills = walk_book(bids, "SELL", 300.0, limit_price("SELL", 0.10, 0.02))
    assert [(f.price, f.shares) for f in fills] == [(0.1, 125.0), (0.09, 175.0)]
    partial = walk_book(bids, "SELL", 1000.0, limit_price("SELL", 0.10, 0.02))
    shares, usd = fill_totals(partial)
    assert shares == pytest.approx(125 + 294 + 120)
    assert usd == pytest.approx(125 * 0.1 + 294 * 0.09 + 120 * 0.08)


def test_empty_side_fills_nothing() -> None:
    book = load_book("clob_book.json")  # real capture: asks is []
    assert walk_book(parse_levels(book["asks"]), "BUY", 10.0, 1.0) == []
    bids = parse_levels(book["bids"])
    fills = walk_book(bids, "SELL", 5.0, 0.0)
    assert [f.price for f in fills] == [0.002]  # the last element is the best bid
    assert book_mid(book) == 0.002  # no asks, no last trade: the one side there is


def test_sell_fraction_mirrors_the_traders_share() -> None:
    assert sell_fraction(30.0, 100.0) == pytest.approx(0.3)
    assert sell_fraction(30.0, None) == 1.0
    assert sell_fraction(50.0, 20.0) == 1.0  # sold more than we thought they had


levels_strategy = st.lists(
    st.builds(
        Level,
        st.integers(min_value=1, max_value=99).map(lambda c: c / 100),
        st.floats(min_value=0.01, max_value=5_000, allow_nan=False),
    ),
    max_size=12,
)


@given(
    levels_strategy,
    st.sampled_from(["BUY", "SELL"]),
    st.floats(min_value=0.01, max_value=10_000, allow_nan=False),
    st.integers(min_value=0, max_value=100).map(lambda c: c / 100),
    st.randoms(use_true_random=False),
)
def test_walk_respects_limit_amount_and_ignores_level_order(
    levels: list[Level], side: str, amount: float, limit: float, rnd: object
) -> None:
    fills = walk_book(levels, side, amount, limit)
    shares, usd = fill_totals(fills)
    spent = usd if side == "BUY" else shares
    assert spent <= amount * (1 + 1e-9) + 1e-9
    for fill in fills:
        assert fill.shares > 0
        assert fill.price <= limit + 1e-9 if side == "BUY" else fill.price >= limit - 1e-9
    prices = [f.price for f in fills]
    assert prices == sorted(prices, reverse=side == "SELL")  # best first
    shuffled = list(levels)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    again = fill_totals(walk_book(shuffled, side, amount, limit))
    assert math.isclose(again[0], shares, rel_tol=1e-9, abs_tol=1e-9)
    # Not filled completely means every level within the limit was used up.
    if not is_complete(side, amount, spent):
        within = [
            lv
            for lv in levels
            if (lv.price <= limit + 1e-9 if side == "BUY" else lv.price >= limit - 1e-9)
        ]
        assert shares == pytest.approx(sum(lv.size for lv in within))


# ---- one fill pass over many orders -----------------------------------------------------------


BOOK = {"asks": [{"price": "0.6", "size": "100"}, {"price": "0.51", "size": "100"}], "bids": []}


def test_plan_fills_walks_each_order_on_its_own_take_of_the_book() -> None:
    fresh = make_order(id=1, portfolio_id=1)
    took_it_all = make_order(id=2, portfolio_id=2, taken={"0.510000": 100.0})
    other_portfolio = make_order(id=3, portfolio_id=1)
    plan = plan_fills([fresh, took_it_all, other_portfolio], {"yes": BOOK}, {}, in_sync=True)
    assert [(o.id, [f.price for f in fills]) for o, fills in plan.fills[1]] == [
        (1, [0.51]),
        (3, [0.51]),
    ]
    assert plan.untouched == [took_it_all]  # 0.6 is beyond its 0.52 limit
    assert (plan.closed, plan.missing) == ([], [])


def test_plan_fills_decides_nothing_on_upstream_trouble() -> None:
    order = make_order()
    assert plan_fills([order], {"yes": None}, {}, in_sync=True) == FillPlan()
    assert plan_fills([order], {}, {}, in_sync=True) == FillPlan()
    # The book is gone but the market lookup failed: nothing either.
    assert plan_fills([order], {"yes": MISSING_BOOK}, {}, in_sync=True) == FillPlan()


def test_plan_fills_ends_orders_of_closed_and_vanished_markets() -> None:
    order = make_order()
    gone = {"yes": MISSING_BOOK}
    closed = plan_fills([order], gone, {"c1": make_market(closed=True)}, in_sync=True)
    assert closed.closed == [order]
    resolved = plan_fills([order], gone, {"c1": make_market(resolved=True)}, in_sync=True)
    assert resolved.closed == [order]
    listed = plan_fills([order], gone, {"c1": make_market()}, in_sync=True)
    assert listed.untouched == [order]  # listed but no book yet: try again later
    vanished = plan_fills([order], gone, {"c1": None}, in_sync=True)
    assert vanished.missing == [order]
    first_try = plan_fills([order], gone, {"c1": None}, in_sync=False)
    assert (first_try.missing, first_try.untouched) == ([], [order])
