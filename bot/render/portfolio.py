"""Paper portfolio -> embed. Pure.

Cash, value and PnL are shown to the cent (a paper portfolio is small enough that $1,093.71
must not read as $1.09K). Traders are named, not shown as wallets. A move too small to matter
is not painted red or green: the colour only says something when the PnL does.
"""

from __future__ import annotations

from collections.abc import Mapping

import discord

from bot.copytrading.models import OrderRow, OrderStatus, PortfolioView, PositionView
from bot.render.numbers import cents, count, integer, money, percent, plural, price_move
from bot.render.text import display_name, escape_text, lines_within, relative_time

LINES_SHOWN = 8
GAIN_COLOUR = discord.Colour.green()
LOSS_COLOUR = discord.Colour.red()
FLAT_COLOUR = discord.Colour.blurple()
NOTABLE_SHARE = 0.02  # a PnL of at least 2% of the deposits (and $5) is worth a colour
NOTABLE_MINIMUM = 5.0
STATUS_WORDS: Mapping[OrderStatus, str] = {
    OrderStatus.PLACED: "🕓 waiting",
    OrderStatus.PENDING: "🕓 waiting",
    OrderStatus.PARTIAL: "◐ partly filled",
    OrderStatus.FILLED: "✅ filled",
    OrderStatus.CANCELLED: "✖️ cancelled",
    OrderStatus.LOST: "❓ lost",
}


def pnl_colour(pnl: float, deposited: float) -> discord.Colour:
    """Green or red only for a move that matters; a −$1 wobble stays neutral."""
    if abs(pnl) < max(NOTABLE_MINIMUM, NOTABLE_SHARE * deposited):
        return FLAT_COLOUR
    return GAIN_COLOUR if pnl > 0 else LOSS_COLOUR


def position_line(p: PositionView) -> str:
    move = price_move(p.avg_price, p.price) if p.price is not None else cents(p.avg_price)
    return (
        f"{escape_text(p.title, 45)} · **{escape_text(p.outcome, 15)}** · "
        f"{count(p.size)} sh @ {move} · {money(p.value, exact=True)} "
        f"({money(p.unrealized_pnl, signed=True, exact=True)})"
    )


def order_status(row: OrderRow) -> str:
    """'✅ filled', or '2 filled · 1 cancelled' for a burst whose fills ended differently."""
    if len(row.statuses) == 1:
        status = STATUS_WORDS.get(row.statuses[0][0], str(row.statuses[0][0]))
    else:
        status = " · ".join(
            f"{n} {STATUS_WORDS.get(s, str(s)).split(' ', 1)[1]}" for s, n in row.statuses
        )
    return status + (f" ({escape_text(row.reason, 40)})" if row.reason else "")


def order_line(row: OrderRow, names: Mapping[str, str]) -> str:
    """Side, outcome, market, what filled at what price, when, and whose trade it copied."""
    price = row.average_price
    if price is not None:
        done = (
            f"{count(row.filled_shares)} sh @ {cents(price)} · {money(row.filled_usd, exact=True)}"
        )
    elif row.side == "BUY":
        done = f"{money(row.requested, exact=True)} at ≤ {cents(row.limit_price)}"
    else:
        done = f"{count(row.requested)} sh at ≥ {cents(row.limit_price)}"
    fills = f" · {plural(row.fills, 'fill')}" if row.fills > 1 else ""
    trader = display_name(names.get(row.wallet, ""), row.wallet)
    return (
        f"{row.side} **{escape_text(row.outcome, 15)}** {escape_text(row.title, 35)}{fills} · "
        f"{done} · {order_status(row)} · {relative_time(row.created_at)} · {trader}"
    )


def portfolio_embed(
    view: PortfolioView,
    owner: str,
    *,
    names: Mapping[str, str] | None = None,
    chart_name: str | None = None,
) -> discord.Embed:
    """``names``: wallet -> trader name, for the traders copied and the orders' traders."""
    names = names or {}
    pnl = view.realized_pnl + view.unrealized_pnl
    embed = discord.Embed(
        title=f"{owner}'s paper portfolio · {money(view.value, exact=True)}",
        description=(
            f"Cash **{money(view.cash, exact=True)}** of {money(view.deposited, exact=True)} "
            f"deposited · PnL **{money(pnl, signed=True, exact=True)}** (realised "
            f"{money(view.realized_pnl, signed=True, exact=True)}, unrealised "
            f"{money(view.unrealized_pnl, signed=True, exact=True)})"
        ),
        colour=pnl_colour(pnl, view.deposited),
    )
    win = view.win_rate
    embed.add_field(
        name="Win rate",
        value=f"{percent(win)} of {integer(view.closed_positions)} closed"
        if win is not None
        else "—",
    )
    copies = [
        f"{display_name(names.get(c.wallet, ''), c.wallet)} · "
        f"{money(c.per_trade_usd, exact=True)} per fill · {money(c.budget_usd, exact=True)} budget"
        for c in view.copies
        if c.active
    ]
    embed.add_field(name="Copying", value=lines_within(copies) or "nobody (use /copy start)")
    positions = [position_line(p) for p in view.positions[:LINES_SHOWN]]
    embed.add_field(name="Open positions", value=lines_within(positions) or "none", inline=False)
    orders = [order_line(row, names) for row in view.order_rows[:LINES_SHOWN]]
    embed.add_field(name="Latest orders", value=lines_within(orders) or "none", inline=False)
    if view.history:
        embed.set_footer(text="Value history: one point per hour")
        embed.add_field(name="Last snapshot", value=relative_time(view.history[-1].at))
    if chart_name:
        embed.set_image(url=f"attachment://{chart_name}")
    return embed
