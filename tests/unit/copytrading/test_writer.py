"""Sizing a new paper order: pure functions, no database (the writer itself is tested against
PostgreSQL in tests/integration/copytrading/).

The promises: a BUY never spends beyond the copy's budget (filled and reserved), a SELL sells
the trader's share of what the copy holds, and an order that cannot be placed says why.
"""

from __future__ import annotations

import pytest

from bot.copytrading.copies import MIN_ORDER_USD
from bot.copytrading.writer import OrderSize, buy_size, sell_size


def test_a_buy_is_the_size_per_trade_capped_by_the_budget_left() -> None:
    assert buy_size(25.0, 10.0, 0.0) == OrderSize(usd=10.0)
    assert buy_size(25.0, 10.0, 20.0) == OrderSize(usd=5.0)
    assert buy_size(25.0, 10.0, 25.0 - MIN_ORDER_USD) == OrderSize(usd=MIN_ORDER_USD)
    assert buy_size(25.0, 10.0, 24.5) == OrderSize(reject="budget exhausted")


def test_a_sell_is_the_traders_share_of_what_the_copy_holds() -> None:
    size = sell_size(40.0, 0.25)
    assert size.shares == pytest.approx(10.0) and size.reject == ""
    assert sell_size(1e-7, 1.0) == OrderSize(reject="nothing to sell")
    assert sell_size(0.0, 0.5) == OrderSize(reject="nothing to sell")
