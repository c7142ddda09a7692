"""Building the /portfolio view and the marks: pure functions, no database.

The promises: open positions are valued at their last mark (their average price before the
first), closed ones count towards the win rate, and the value adds cash to the open positions.
"""

from __future__ import annotations

import pytest

from bot.copytrading.models import MISSING_BOOK, Portfolio, ValuePoint
from bot.copytrading.portfolio import SNAPSHOT_SECONDS, build_view, marks, snapshot_hour
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
