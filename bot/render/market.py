"""Market -> embed, and the select-menu labels for several matches. Pure."""

from __future__ import annotations

import discord

from bot.markets.prices import Quote
from bot.polymarket.records import Market
from bot.render.alerts import cents, market_url
from bot.render.text import escape_text, money, relative_time


def market_status(market: Market) -> str:
    if market.resolved and market.winner_index is not None:
        return f"Resolved: **{escape_text(market.outcomes[market.winner_index], 40)}** won"
    if market.resolved or market.closed:
        return "Closed, awaiting resolution"
    return "Open"


def market_embed(market: Market, quote: Quote) -> discord.Embed:
    url = market_url(market.slug, market.event_slug)
    embed = discord.Embed(
        title=escape_text(market.question or market.slug, 250),
        url=url,
        colour=discord.Colour.dark_teal() if not market.closed else discord.Colour.dark_grey(),
    )
    lines = []
    for index, outcome in enumerate(market.outcomes):
        price = quote.prices[index] if index < len(quote.prices) else -1.0
        shown = cents(price) if price >= 0 else "—"
        lines.append(f"**{escape_text(outcome, 40)}** {shown}")
    embed.add_field(name="Outcomes", value="\n".join(lines) or "—", inline=False)
    embed.add_field(name="Volume", value=money(market.volume))
    embed.add_field(name="Liquidity", value=money(market.liquidity))
    embed.add_field(name="Ends", value=market.end_date[:10] or "—")
    embed.add_field(name="Status", value=market_status(market), inline=False)
    if quote.stale:
        since = relative_time(quote.as_of) if quote.as_of else "an earlier lookup"
        embed.add_field(
            name="⚠️ Prices may be stale",
            value=f"Polymarket did not answer; these are from {since}.",
            inline=False,
        )
    if market.image.startswith("http"):
        embed.set_thumbnail(url=market.image)
    embed.set_footer(text=f"{market.condition_id[:10]}… · prices via {quote.source}")
    return embed


def option_label(market: Market) -> str:
    label = market.question or market.slug
    return label if len(label) <= 100 else label[:99] + "…"
