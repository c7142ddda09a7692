"""Paper portfolio -> embed. Pure."""

from __future__ import annotations

import discord

from bot.copytrading import PortfolioView
from bot.render.alerts import cents, shares
from bot.render.text import escape_text, money, relative_time, short_wallet

STATUS_ICONS = {
    "PLACED": "🕓",
    "PENDING": "🕓",
    "PARTIAL": "◐",
    "FILLED": "✅",
    "CANCELLED": "✖️",
    "LOST": "❓",
}


def portfolio_embed(
    view: PortfolioView, owner: str, *, chart_name: str | None = None
) -> discord.Embed:
    pnl = view.realized_pnl + view.unrealized_pnl
    embed = discord.Embed(
        title=f"{owner}'s paper portfolio · {money(view.value)}",
        description=(
            f"Cash **{money(view.cash)}** of {money(view.deposited)} deposited · "
            f"PnL **{money(pnl)}** (realised {money(view.realized_pnl)}, "
            f"unrealised {money(view.unrealized_pnl)})"
        ),
        colour=discord.Colour.green() if pnl >= 0 else discord.Colour.red(),
    )
    win = view.win_rate
    embed.add_field(
        name="Win rate",
        value=f"{win:.0%} of {view.closed_positions} closed" if win is not None else "—",
    )
    copies = [
        f"`{short_wallet(c.wallet)}` {money(c.per_trade_usd)}/trade"
        for c in view.copies
        if c.active
    ]
    embed.add_field(name="Copying", value="\n".join(copies) or "nobody (use /copy start)")
    lines = []
    for p in view.positions[:8]:
        mark = cents(p.price) if p.price is not None else "—"
        lines.append(
            f"{escape_text(p.title, 45)} · **{escape_text(p.outcome, 15)}** · "
            f"{shares(p.size)} sh @ {cents(p.avg_price)} → {mark} · {money(p.value)} "
            f"({money(p.unrealized_pnl)})"
        )
    embed.add_field(name="Open positions", value="\n".join(lines) or "none", inline=False)
    orders = []
    for o in view.orders[:8]:
        icon = STATUS_ICONS.get(str(o.status), "•")
        reason = f" ({escape_text(o.reason, 40)})" if o.reason else ""
        orders.append(
            f"{icon} {o.side} **{escape_text(o.outcome, 15)}** {escape_text(o.title, 35)} · "
            f"{money(o.filled_usd)} filled · {o.status}{reason}"
        )
    embed.add_field(name="Latest orders", value="\n".join(orders) or "none", inline=False)
    if view.history:
        embed.set_footer(text="Value history: one point per hour")
        embed.add_field(name="Last snapshot", value=relative_time(view.history[-1].at))
    if chart_name:
        embed.set_image(url=f"attachment://{chart_name}")
    return embed
