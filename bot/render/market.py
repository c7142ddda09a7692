"""Market -> embed, and the picker's lines when several markets match. Pure.

Prices are shown as cents with the implied chance beside them (a Yes at 62¢ is a 62% chance);
a resolved market says who won instead of 100¢ / 0¢. Prices that Polymarket could not confirm
just now are marked stale and coloured as stale, with the time they are from.
"""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.markets.prices import Quote
from bot.polymarket.records import Market
from bot.render.alerts import market_url
from bot.render.numbers import cents, chance, money
from bot.render.text import escape_text, relative_time

OPEN_COLOUR = discord.Colour.dark_teal()
CLOSED_COLOUR = discord.Colour.dark_grey()
STALE_COLOUR = discord.Colour.orange()
OPTION_LIMIT = 100  # Discord's limit for a select option's label and description


def market_status(market: Market, *, markdown: bool = False) -> str:
    """'Open', 'Closed, awaiting resolution' or 'Resolved: <winner> won'; ``markdown`` escapes
    the winner's name and sets it in bold (a select menu shows plain text only)."""
    if market.resolved and market.winner_index is not None:
        winner = market.outcomes[market.winner_index]
        return (
            f"Resolved: **{escape_text(winner, 40)}** won"
            if markdown
            else f"Resolved: {winner} won"
        )
    if market.resolved or market.closed:
        return "Closed, awaiting resolution"
    return "Open"


def price_text(price: float) -> str:
    """'62¢ · 62% chance', or '—' for a price nobody could tell."""
    if price < 0:
        return "—"
    return f"{cents(price)} · {chance(price)} chance"


def outcome_lines(market: Market, quote: Quote) -> list[str]:
    lines = []
    for index, outcome in enumerate(market.outcomes):
        name = f"**{escape_text(outcome, 40)}**"
        if market.resolved and market.winner_index is not None:
            lines.append(f"{name} ✅ won" if index == market.winner_index else f"{name} lost")
            continue
        price = quote.prices[index] if index < len(quote.prices) else -1.0
        lines.append(f"{name} {price_text(price)}")
    return lines


def end_text(end_date: str) -> str:
    """Gamma's ISO end date as a Discord date (shown in each reader's time zone)."""
    try:
        moment = datetime.fromisoformat(end_date.replace(" ", "T"))
    except ValueError:
        return end_date[:10] or "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<t:{int(moment.timestamp())}:D>"


def market_embed(market: Market, quote: Quote) -> discord.Embed:
    colour = OPEN_COLOUR if not market.closed else CLOSED_COLOUR
    embed = discord.Embed(
        title=escape_text(market.question or market.slug, 250),
        url=market_url(market.slug, market.event_slug),
        colour=STALE_COLOUR if quote.stale else colour,
    )
    outcomes = "\n".join(outcome_lines(market, quote)) or "—"
    embed.add_field(name="Outcomes", value=outcomes, inline=False)
    embed.add_field(name="Volume", value=money(market.volume))
    embed.add_field(name="Liquidity", value=money(market.liquidity))
    embed.add_field(name="Ends", value=end_text(market.end_date))
    embed.add_field(name="Status", value=market_status(market, markdown=True), inline=False)
    if quote.stale:
        since = relative_time(quote.as_of) if quote.as_of else "an earlier lookup"
        embed.add_field(
            name="⚠️ Prices may be stale",
            value=f"Polymarket did not answer just now; these prices are from {since}.",
            inline=False,
        )
    if market.image.startswith("http"):
        embed.set_thumbnail(url=market.image)
    if quote.as_of:
        embed.set_footer(text="Prices as of")
        embed.timestamp = datetime.fromtimestamp(quote.as_of, tz=UTC)
    return embed


def option_label(market: Market) -> str:
    """The picker line's title: the question (never the slug, unless there is no question)."""
    return _cut(market.question or market.slug)


def option_description(market: Market) -> str:
    """The picker line's detail: the leading price, the volume and the status."""
    volume = f"{money(market.volume)} volume"
    if market.resolved or market.closed:
        return _cut(f"{market_status(market)} · {volume}")
    lead = ""
    if market.outcomes and market.prices and market.prices[0] >= 0:
        lead = f"{market.outcomes[0]} {price_text(market.prices[0])} · "
    return _cut(f"{lead}{volume} · Open")


def _cut(text: str) -> str:
    return text if len(text) <= OPTION_LIMIT else text[: OPTION_LIMIT - 1] + "…"
