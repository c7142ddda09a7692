"""Position change of a card: new, added, trimmed, closed (with realised PnL when the cost basis
is known), from the last whole read of the wallet's positions and its stored trades."""

from __future__ import annotations

import pytest

from bot.polymarket.records import Trade
from bot.signals.models import HistoryTrade, PositionHistory
from bot.signals.positions import position_change
from tests.factories import make_trade

WALLET = "0x" + "f" * 40
T0 = 1_800_000_000.0


def fill(side: str, size: float, price: float, at: float) -> Trade:
    return make_trade(wallet=WALLET, asset="yes", side=side, size=size, price=price, timestamp=at)


def stored(*trades: Trade) -> tuple[HistoryTrade, ...]:
    return tuple(HistoryTrade(t.side, t.size, t.price, t.timestamp, t.key) for t in trades)


def history(
    *trades: Trade, synced_at: float | None = T0 - 100, size: float = 0.0, avg: float = 0.0
) -> PositionHistory:
    return PositionHistory(synced_at, size, avg, stored(*trades))


def test_unknown_without_any_read_of_the_wallet() -> None:
    buy = fill("BUY", 10, 0.5, T0)
    assert position_change(None, [buy]) is None
    assert position_change(history(buy, synced_at=None), [buy]) is None


def test_a_buy_from_nothing_is_a_new_position_and_then_an_added_one() -> None:
    first = fill("BUY", 100, 0.4, T0)
    change = position_change(history(first), [first])
    assert change is not None and (change.kind, change.before, change.after) == ("new", 0, 100)
    second = fill("BUY", 50, 0.6, T0 + 60)
    change = position_change(history(first, second), [second])
    assert change is not None and (change.kind, change.after) == ("added", 150)


def test_a_full_sell_closes_with_the_realised_pnl_of_the_stored_cost_basis() -> None:
    buys = [fill("BUY", 100, 0.40, T0), fill("BUY", 100, 0.60, T0 + 10)]
    sell = fill("SELL", 200, 0.70, T0 + 60)
    change = position_change(history(*buys, sell), [sell])
    assert change is not None and change.kind == "closed"
    assert change.realized_pnl == pytest.approx(200 * (0.70 - 0.50))


def test_the_synced_position_is_the_starting_point() -> None:
    sell = fill("SELL", 40, 0.30, T0)
    change = position_change(history(sell, size=100, avg=0.20), [sell])
    assert change is not None and change.kind == "trimmed"
    assert change.sold_share == pytest.approx(0.4) and change.after == pytest.approx(60)


def test_trades_before_the_read_are_in_it_already_and_not_counted_twice() -> None:
    before_read = fill("BUY", 100, 0.5, T0 - 500)
    sell = fill("SELL", 100, 0.6, T0)
    change = position_change(history(before_read, sell, size=100, avg=0.5), [sell])
    assert change is not None and change.kind == "closed"
    assert change.realized_pnl == pytest.approx(10)


def test_a_read_after_the_card_is_rolled_back_and_claims_no_pnl() -> None:
    buy = fill("BUY", 100, 0.5, T0)
    sell = fill("SELL", 100, 0.6, T0 + 10)
    # read at T0 + 20: it already shows the position closed (no row, size 0)
    change = position_change(history(buy, sell, synced_at=T0 + 20), [sell])
    assert change is not None and change.kind == "closed" and change.realized_pnl is None


def test_a_merged_burst_counts_every_fill_and_dust_left_is_closed() -> None:
    buy = fill("BUY", 1_000, 0.5, T0)
    sells = [fill("SELL", 600, 0.55, T0 + 60), fill("SELL", 399.999, 0.55, T0 + 61)]
    change = position_change(history(buy, *sells), sells)
    assert change is not None and change.kind == "closed"
    assert change.realized_pnl == pytest.approx(999.999 * 0.05)


def test_selling_what_was_never_seen_bought_says_nothing() -> None:
    sell = fill("SELL", 10, 0.5, T0)
    assert position_change(history(sell), [sell]) is None


def test_a_trade_stamped_in_the_second_of_the_read_counts_as_after_it() -> None:
    buy = fill("BUY", 100, 0.5, T0)  # whole seconds: it happened in [T0, T0 + 1)
    sell = fill("SELL", 100, 0.6, T0 + 5)
    change = position_change(history(buy, sell, synced_at=T0 + 0.4), [sell])
    assert change is not None and change.kind == "closed"
    assert change.realized_pnl == pytest.approx(10)
