"""Paper-order lifecycle and fill model: pure functions, no database.

The promises: no sequence of requested status changes reaches a state the lifecycle forbids,
terminal states never change again, and the fill model walks real CLOB books (worst-first
levels, best = last) best-first, never past the slippage limit and never beyond the order.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.copytrading.sync import (
    INITIAL_STATUS,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    IllegalTransition,
    Level,
    OrderStatus,
    best_ask,
    best_bid,
    book_mid,
    can_transition,
    fill_totals,
    is_complete,
    limit_price,
    parse_levels,
    sell_fraction,
    sources_of,
    status_after_fill,
    transition,
    walk_book,
)
from tests.conftest import FIXTURES

STATUSES = list(OrderStatus)


def load_book(name: str) -> dict[str, object]:
    return json.loads((FIXTURES / name).read_text())


# ---- the transition table -------------------------------------------------------------------


def test_table_covers_every_status_and_terminals_are_final() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert TERMINAL_STATUSES == {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.LOST}
    assert OPEN_STATUSES == {OrderStatus.PLACED, OrderStatus.PENDING, OrderStatus.PARTIAL}
    assert INITIAL_STATUS == OrderStatus.PLACED
    for status in TERMINAL_STATUSES:
        assert not TRANSITIONS[status]
    # Nothing ever goes back to PLACED, and a PARTIAL order never forgets its fill.
    assert all(OrderStatus.PLACED not in targets for targets in TRANSITIONS.values())
    assert OrderStatus.PENDING not in TRANSITIONS[OrderStatus.PARTIAL]


def test_sources_of_is_the_table_read_backwards() -> None:
    assert sources_of(OrderStatus.CANCELLED) == ["PARTIAL", "PENDING", "PLACED"]
    assert sources_of(OrderStatus.PLACED) == []


@given(st.lists(st.sampled_from(STATUSES), max_size=30))
def test_no_sequence_of_requests_reaches_an_illegal_state(requests: list[OrderStatus]) -> None:
    state = INITIAL_STATUS
    seen = [state]
    for requested in requests:
        if can_transition(state, requested):
            state = transition(state, requested)
        else:
            with pytest.raises(IllegalTransition):
                transition(state, requested)
        seen.append(state)
    for before, after in itertools.pairwise(seen):
        assert before == after or after in TRANSITIONS[before]
    # Once terminal, always that same terminal state.
    first_terminal = next((i for i, s in enumerate(seen) if s in TERMINAL_STATUSES), None)
    if first_terminal is not None:
        assert set(seen[first_terminal:]) == {seen[first_terminal]}


@given(st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_transition_accepts_strings_as_stored_in_postgres(a: OrderStatus, b: OrderStatus) -> None:
    assert can_transition(a.value, b.value) == can_transition(a, b)


class OrderMachine(RuleBasedStateMachine):
    """An order driven by what the service does to it: fills of random size, retries that find
    nothing, cancellations (expiry, copy stopped, market closed) and a vanished market. Every
    step goes through ``transition``; an illegal one must raise and change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.requested = 100.0
        self.filled = 0.0
        self.status = INITIAL_STATUS
        self.history = [self.status]

    def _request(self, target: OrderStatus) -> None:
        before = self.status
        if can_transition(before, target):
            self.status = transition(before, target)
        else:
            with pytest.raises(IllegalTransition):
                transition(before, target)
        self.history.append(self.status)

    @precondition(lambda self: self.status in OPEN_STATUSES)
    @rule(fraction=st.floats(min_value=0.0, max_value=1.0))
    def fill(self, fraction: float) -> None:
        amount = (self.requested - self.filled) * fraction
        target = status_after_fill("BUY", self.requested, self.filled + amount)
        self._request(target)
        if self.status == target:
            self.filled += amount

    @rule()
    def retry_without_fill(self) -> None:
        target = OrderStatus.PENDING if self.status == OrderStatus.PLACED else self.status
        self._request(target)

    @rule()
    def cancel(self) -> None:
        self._request(OrderStatus.CANCELLED)

    @rule()
    def lose(self) -> None:
        self._request(OrderStatus.LOST)

    @rule(requested=st.sampled_from(STATUSES))
    def anything(self, requested: OrderStatus) -> None:
        fill_statuses = (OrderStatus.PARTIAL, OrderStatus.FILLED)
        if requested in fill_statuses and self.status in OPEN_STATUSES:
            return  # the service only reaches these through the fill model (``fill``)
        self._request(requested)

    @invariant()
    def never_overfilled(self) -> None:
        assert self.filled <= self.requested + 1e-9

    @invariant()
    def filled_means_complete(self) -> None:
        if self.status == OrderStatus.FILLED and self.filled > 0:
            assert is_complete("BUY", self.requested, self.filled)

    @invariant()
    def partial_has_a_fill(self) -> None:
        if self.status == OrderStatus.PARTIAL:
            assert self.filled > 0

    @invariant()
    def terminal_is_final(self) -> None:
        terminal = [s for s in self.history if s in TERMINAL_STATUSES]
        if terminal:
            assert self.status == terminal[0]


TestOrderMachine = OrderMachine.TestCase
TestOrderMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


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
