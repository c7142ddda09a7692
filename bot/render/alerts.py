"""Trade alert cards -> embeds. Pure: everything upstream-controlled is escaped here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import discord

from bot.render.text import display_name, escape_text, money, profile_url, short_wallet
from bot.trades.cards import AlertCard

BUY_COLOUR = discord.Colour.from_rgb(39, 174, 96)
SELL_COLOUR = discord.Colour.from_rgb(192, 57, 43)
EXPLORER_TX = "https://polygonscan.com/tx/{tx}"


@dataclass(frozen=True)
class AlertContext:
    """What the hot cache knows about the trader and the market when the alert is sent."""

    rank: int | None = None
    period: str = "week"
    score: float | None = None
    current_price: float | None = None


def cents(price: float) -> str:
    value = round(price * 100, 1)  # 0.29 * 100 is 28.999…: round before choosing the format
    return f"{value:.1f}¢" if value < 10 or value != int(value) else f"{value:.0f}¢"


def shares(amount: float) -> str:
    return f"{amount:,.2f}" if amount < 100 else f"{amount:,.0f}"


def market_url(slug: str, event_slug: str) -> str | None:
    if event_slug:
        return f"https://polymarket.com/event/{event_slug}"
    if slug:
        return f"https://polymarket.com/market/{slug}"
    return None


def alert_embed(card: AlertCard, context: AlertContext) -> discord.Embed:
    trade = card.first
    fills = len(card.trades)
    side = "BUY" if trade.side == "BUY" else "SELL"
    icon = "🟢" if side == "BUY" else "🔴"
    outcome = escape_text(trade.outcome or "?", 40)
    title = f"{icon} {side} {outcome}"
    if fills > 1:
        title += f" · {fills} fills merged"
    if card.kind == "whale":
        title = "🐋 " + title
    market = escape_text(trade.title or trade.slug or "Unknown market", 200)
    url = market_url(trade.slug, trade.event_slug)
    embed = discord.Embed(
        title=title,
        description=f"[{market}]({url})" if url else market,
        colour=BUY_COLOUR if side == "BUY" else SELL_COLOUR,
        timestamp=datetime.fromtimestamp(trade.timestamp, tz=UTC),
    )
    name = display_name(trade.name or trade.pseudonym, trade.wallet)
    embed.set_author(name=name.replace("\\", ""), url=profile_url(trade.wallet))
    price_label = "Avg price" if fills > 1 else "Price"
    embed.add_field(name=price_label, value=cents(card.average_price))
    embed.add_field(name="Shares", value=shares(card.size))
    embed.add_field(name="Value", value=money(card.usd))
    current = cents(context.current_price) if context.current_price is not None else "—"
    embed.add_field(name="Current price", value=current)
    if context.rank is not None:
        standing = f"#{context.rank} this {context.period}"
        if context.score is not None:
            standing += f" · score {context.score:.1f}"
    else:
        standing = "not ranked"
    embed.add_field(name="Trader", value=f"{standing}\n`{short_wallet(trade.wallet)}`")
    tx = trade.transaction_hash
    embed.add_field(name="Transaction", value=f"[{short_wallet(tx)}]({EXPLORER_TX.format(tx=tx)})")
    if card.delayed:
        embed.set_footer(text="⏱ Delayed alert: missed by the live stream, found in trade history")
    return embed
