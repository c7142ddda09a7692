"""Leaderboard page -> embed. Pure: the same page and freshness always give the same embed."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.leaderboard.models import BoardPage
from bot.leaderboard.service import Freshness
from bot.render.numbers import integer, money, score
from bot.render.text import display_name, full_time, profile_url, relative_time

PERIOD_LABELS = {"day": "Today", "week": "This week", "month": "This month", "all": "All time"}
METRIC_LABELS = {"pnl": "PnL", "volume": "Volume", "score": "Copy score"}
COLOUR = discord.Colour.from_rgb(46, 92, 255)
STALE_COLOUR = discord.Colour.orange()


def leaderboard_embed(
    page: BoardPage, freshness: Freshness, *, note: str | None = None
) -> discord.Embed:
    """``note``: a line about what the page cannot show yet (e.g. scores still loading)."""
    title = (
        f"Polymarket leaderboard · {PERIOD_LABELS[page.period]} · by {METRIC_LABELS[page.metric]}"
    )
    lines = []
    for offset, entry in enumerate(page.entries):
        rank = page.first_rank + offset
        name = display_name(entry.user_name, entry.wallet)
        lines.append(
            f"**{rank}.** [{name}]({profile_url(entry.wallet)})"
            f" · PnL **{money(entry.pnl)}** · Vol {money(entry.volume)}"
            f" · Score **{score(entry.score)}**"
        )
    if not lines:
        lines.append("No traders ranked for this period yet.")
    lines.append("")
    if note:
        lines.append(note)
    if freshness.stale:
        since = (
            f"last updated {relative_time(freshness.since)} ({full_time(freshness.since)})"
            if freshness.since
            else "never updated"
        )
        lines.append(f"⚠️ Data may be stale: {since}. The bot keeps retrying in the background.")
    else:
        lines.append(f"Updated {relative_time(page.updated_at)}")
    embed = discord.Embed(
        title=title,
        description="\n".join(lines),
        colour=STALE_COLOUR if freshness.stale else COLOUR,
    )
    # Footers cannot render <t:…:R>; the relative time is the description's last line and the
    # footer carries Discord's own timestamp (shown in each reader's time zone).
    embed.set_footer(
        text=f"Page {page.page}/{page.total_pages} · {integer(page.trader_count)} traders · Updated"
    )
    embed.timestamp = datetime.fromtimestamp(page.updated_at, tz=UTC)
    return embed
