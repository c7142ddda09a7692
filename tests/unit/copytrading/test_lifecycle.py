"""Paper-order lifecycle: the transition table, no database.

The promises: no sequence of requested status changes reaches a state the lifecycle forbids,
and terminal states never change again.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.copytrading.fills import is_complete, status_after_fill
from bot.copytrading.lifecycle import (
    INITIAL_STATUS,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    IllegalTransition,
    can_transition,
    sources_of,
    transition,
)
from bot.copytrading.models import OrderStatus

STATUSES = list(OrderStatus)


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
