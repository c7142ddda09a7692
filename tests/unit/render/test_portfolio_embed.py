"""The /portfolio embed: money to the cent, named traders, a colour only for a move that
matters, and fields that never pass Discord's 1,024-character limit."""

from __future__ import annotations

from bot.copytrading.models import CopyConfig, OrderRow, OrderStatus, PortfolioView
from bot.render.numbers import MINUS
from bot.render.portfolio import (
    FLAT_COLOUR,
    GAIN_COLOUR,
    LOSS_COLOUR,
    pnl_colour,
    portfolio_embed,
)
from bot.render.text import lines_within

WALLET = "0x" + "ab" * 20


def view(**overrides: object) -> PortfolioView:
    values: dict[str, object] = {
        "guild_id": 1,
        "user_id": 2,
        "cash": 593.714,
        "deposited": 1000.0,
        "realized_pnl": 50.0,
        "unrealized_pnl": 43.71,
        "value": 1093.714,
        "positions": (),
        "closed_positions": 0,
        "winning_positions": 0,
        "orders": (),
        "history": (),
        "copies": (CopyConfig(1, 1, 1, 2, WALLET, 1000.0, 37.37, True, 0.0, None),),
    }
    values.update(overrides)
    return PortfolioView(**values)  # type: ignore[arg-type]


def row(i: int) -> OrderRow:
    return OrderRow(
        WALLET,
        "A market with a fairly long question " * 2,
        "Yes",
        "BUY",
        3,
        ((OrderStatus.FILLED, 3),),
        "",
        120.0,
        48.0,
        30.0,
        0.41,
        1_800_000_000.0 + i,
    )


def test_cash_value_and_pnl_are_to_the_cent_and_traders_named() -> None:
    embed = portfolio_embed(view(), "Ann", names={WALLET: "LuckyFox"}).to_dict()
    assert embed["title"] == "Ann's paper portfolio · $1,093.71"
    assert embed["description"].startswith("Cash **$593.71** of $1,000.00 deposited")
    assert "PnL **+$93.71** (realised +$50.00, unrealised +$43.71)" in embed["description"]
    copying = next(f["value"] for f in embed["fields"] if f["name"] == "Copying")
    assert copying.startswith("LuckyFox · $37.37 per fill") and WALLET[:6] not in copying


def test_a_small_move_is_not_painted_red() -> None:
    assert pnl_colour(-1.0, 500.0) == FLAT_COLOUR
    assert pnl_colour(-9.99, 500.0) == FLAT_COLOUR  # under 2% of the deposits
    assert pnl_colour(-10.0, 500.0) == LOSS_COLOUR
    assert pnl_colour(25.0, 500.0) == GAIN_COLOUR
    negative = portfolio_embed(view(realized_pnl=-1.0, unrealized_pnl=0.0), "Ann").to_dict()
    assert negative["color"] == FLAT_COLOUR.value and f"{MINUS}$1.00" in negative["description"]


def test_order_lines_show_price_shares_time_and_never_overflow_the_field() -> None:
    rows = tuple(row(i) for i in range(40))
    embed = portfolio_embed(view(order_rows=rows), "Ann", names={WALLET: "LuckyFox"}).to_dict()
    orders = next(f["value"] for f in embed["fields"] if f["name"] == "Latest orders")
    assert len(orders) <= 1024
    first = orders.splitlines()[0]
    assert "3 fills · 120 sh @ 40¢ · $48.00 · ✅ filled · <t:1800000000:R> · LuckyFox" in first
    lines = [f"line {i} " + "x" * 100 for i in range(30)]
    text = lines_within(lines)
    assert len(text) <= 1024 and text.endswith("more")
