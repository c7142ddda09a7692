"""The paper order's lifecycle: one transition table and the functions that read it.

Why one table: every status change in copy trading (a fill, a retry that found nothing, an
expiry, a stopped copy, a closed or vanished market) asks :func:`transition` first, and every
SQL update that changes a status is guarded by ``WHERE status = …`` built from the same table
(:func:`sources_of`), so the lifecycle holds in memory and under concurrency alike. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.copytrading.models import OrderStatus

# The whole lifecycle. A status maps to the statuses it may move to; terminal ones to nothing.
# PENDING -> PENDING and PARTIAL -> PARTIAL are a retried fill that found nothing / a bit more.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset(
        {
            OrderStatus.PENDING,
            OrderStatus.PARTIAL,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.LOST,
        }
    ),
    OrderStatus.PENDING: frozenset(
        {
            OrderStatus.PENDING,
            OrderStatus.PARTIAL,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.LOST,
        }
    ),
    OrderStatus.PARTIAL: frozenset(
        {OrderStatus.PARTIAL, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.LOST}
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.LOST: frozenset(),
}
INITIAL_STATUS = OrderStatus.PLACED
TERMINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
OPEN_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if targets)


class IllegalTransition(ValueError):
    """A status change the lifecycle forbids; raised before anything is written."""


def can_transition(current: OrderStatus | str, target: OrderStatus | str) -> bool:
    """Whether the table allows ``current`` -> ``target`` (statuses as enum or as stored text)."""
    return OrderStatus(target) in TRANSITIONS[OrderStatus(current)]


def transition(current: OrderStatus | str, target: OrderStatus | str) -> OrderStatus:
    """The one check of the lifecycle: returns ``target`` or raises :class:`IllegalTransition`."""
    source, goal = OrderStatus(current), OrderStatus(target)
    if goal not in TRANSITIONS[source]:
        raise IllegalTransition(f"order cannot go from {source} to {goal}")
    return goal


def sources_of(target: OrderStatus) -> list[str]:
    """Statuses that may move to ``target``: the WHERE clause of a batch transition."""
    return sorted(s.value for s, targets in TRANSITIONS.items() if target in targets)
