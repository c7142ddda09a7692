"""Building the /portfolio view and the marks: pure functions, no database.

The promises: open positions are valued at their last mark (their average price before the
first), closed ones count towards the win rate, and the value adds cash to the open positions.
"""

from __future__ import annotations

import pytest

from bot.copytrading.models import MISSING_BOOK, OrderStatus, Portfolio, ValuePoint
from bot.copytrading.portfolio import (
    SNAPSHOT_SECONDS,
    build_view,
    marks,
    order_rows,
    snapshot_hour,
)
from tests.unit.copytrading.factories import make_order, make_position


def test_view_values_open_positions_and_counts_closed_ones() -> None:
    portfolio = Portfolio(1, guild_id=10, user_id=20, cash=70.0, deposited=100.0, realized_pnl=-2)
    marked = make_position(asset="a", size=20.0, cost_basis=10.0, last_price=0.6)
    unmarked = make_position(asset="b", size=10.0, cost_basis=4.0, avg_price=0.4)
    won = make_position(asset="c", size=0.0, cost_basis=0.0, realized_pnl=3.0, closed_at=1.0)
    lost = make_position(asset="d", size=0.0, settled=True, realized_pnl=-5.0, closed_at=2.0)
    history = [ValuePoint(0.0, 100.0, 100.0)]
    order = make_order()
    view = build_view(portfolio, [marked, unmarked, won, lost], [order], history, [])
    assert [p.asset for p in view.positions] == ["a", "b"]
    assert view.positions[0].value == pytest.approx(12.0)
    assert view.positions[0].unrealized_pnl == pytest.approx(2.0)
    assert view.positions[1].price is None and view.positions[1].value == pytest.approx(4.0)
    assert view.unrealized_pnl == pytest.approx(2.0)
    assert view.value == pytest.approx(70.0 + 12.0 + 4.0)
    assert (view.closed_positions, view.winning_positions, view.win_rate) == (2, 1, 0.5)
    assert (view.guild_id, view.user_id) == (10, 20)
    assert (view.orders, view.history) == ((order,), tuple(history))


def test_marks_come_from_live_books_only() -> None:
    books = {
        "live": {"bids": [{"price": "0.4", "size": "1"}], "asks": [{"price": "0.5", "size": "1"}]},
        "gone": MISSING_BOOK,
        "failed": None,
    }
    assert marks(books) == {"live": pytest.approx(0.45)}


def test_snapshots_are_keyed_by_the_start_of_the_hour() -> None:
    assert snapshot_hour(7_205.5) == 7_200 == 2 * SNAPSHOT_SECONDS
    assert snapshot_hour(7_199.9) == 3_600


def test_a_burst_of_fills_is_one_row_with_its_totals() -> None:
    burst = [
        make_order(
            id=i,
            created_at=100.0 + i,
            filled_shares=20.0,
            filled_usd=8.0 + i,
            status=OrderStatus.FILLED,
        )
        for i in range(3)
    ]
    late = make_order(id=9, created_at=200.0)  # same copy, token and side, a minute later
    (newest, merged) = order_rows([*burst, late])
    assert (newest.fills, merged.fills) == (1, 3)
    assert merged.filled_shares == pytest.approx(60.0)
    assert merged.filled_usd == pytest.approx(27.0)
    assert merged.average_price == pytest.approx(27.0 / 60.0)
    assert merged.statuses == ((OrderStatus.FILLED, 3),)
    assert merged.created_at == 102.0
    assert newest.average_price is None and newest.requested == pytest.approx(10.0)


def test_other_copies_sides_and_tokens_are_never_merged() -> None:
    orders = [
        make_order(id=1, created_at=1.0),
        make_order(id=2, created_at=2.0, config_id=2),
        make_order("SELL", id=3, created_at=3.0),
        make_order(id=4, created_at=4.0, asset="no"),
        make_order(id=5, created_at=5.0, status=OrderStatus.CANCELLED, reason="budget exhausted"),
    ]
    rows = order_rows(orders)
    assert [row.fills for row in rows] == [1, 1, 1, 2]  # only #1 and #5 share a burst
    assert dict(rows[-1].statuses) == {OrderStatus.PENDING: 1, OrderStatus.CANCELLED: 1}
    assert rows[-1].reason == "budget exhausted"
