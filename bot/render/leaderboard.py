"""Leaderboard page -> embed. Pure: the same page and freshness always give the same embed."""

from __future__ import annotations

from datetime import UTC, datetime, time

import discord

from bot.leaderboard.evidence import shown_score
from bot.leaderboard.models import OVERALL, BoardEntry, BoardPage, ScoreRecord
from bot.leaderboard.service import Freshness
from bot.render.numbers import count, money, percent, plural
from bot.render.text import display_name, full_time, profile_url, relative_time

PERIOD_LABELS = {"day": "Today", "week": "This week", "month": "This month", "all": "All time"}
# The title names the ordering and each row carries its rank, so together they read "#3 by PnL".
METRIC_LABELS = {"pnl": "by PnL", "volume": "by volume", "score": "by copy score"}
COLOUR = discord.Colour.from_rgb(46, 92, 255)
STALE_COLOUR = discord.Colour.orange()


def _row(rank: int, entry: BoardEntry, metric: str) -> str:
    """One trader's line: the rank as "#N", the ranked metric first and in bold; PnL signed."""
    name = f"[{display_name(entry.user_name, entry.wallet)}]({profile_url(entry.wallet)})"
    pnl = f"PnL {money(entry.pnl, signed=True)}"
    volume = f"Vol {money(entry.volume)}"
    score = f"Score {count(shown_score(entry.score))}" if entry.scored else "no score yet"
    parts = {"pnl": pnl, "volume": volume, "score": score}
    ordered = [f"**{parts[metric]}**", *(text for key, text in parts.items() if key != metric)]
    return f"**#{rank}** {name} · " + " · ".join(ordered)


def _evidence_lines(page: BoardPage) -> list[str]:
    """Who is not in the score ranking, and why (score ordering only)."""
    lines = [
        f"Ranked by copy score: traders with {plural(page.min_closed, 'closed position')} and"
        f" {money(page.min_volume)} traded in the last 90 days."
    ]
    if page.pending:
        lines.append(
            f"⏳ Still loading the history of {plural(page.pending, 'trader')}; they join this"
            " ranking once loaded."
        )
    if page.thin:
        lines.append(
            f"{plural(page.thin, 'trader')} with less history are ranked by PnL and volume only."
        )
    return lines


def record_line(record: ScoreRecord) -> str:
    """How the weekly top 10s by score, PnL and volume did since they were picked."""
    since = int(datetime.combine(record.first_pick, time(), tzinfo=UTC).timestamp())

    def result(metric: str) -> str:
        value = record.per_dollar.get(metric)
        return "—" if value is None else percent(value, digits=1, signed=True)

    return (
        f"📈 Weekly top 10s since <t:{since}:d> ({plural(record.picks, 'pick')}), PnL per $ traded"
        f" since: copy score {result('score')} · PnL {result('pnl')} · volume {result('volume')}"
    )


def leaderboard_embed(
    page: BoardPage, freshness: Freshness, *, note: str | None = None
) -> discord.Embed:
    """``note``: a line about what the page cannot show yet (e.g. scores still loading)."""
    category = "" if page.category == OVERALL else f" · {page.category.title()}"
    title = (
        f"Polymarket leaderboard{category} · {PERIOD_LABELS[page.period]}"
        f" · {METRIC_LABELS[page.metric]}"
    )
    lines = [
        _row(page.first_rank + offset, entry, page.metric)
        for offset, entry in enumerate(page.entries)
    ]
    if not lines and page.metric != "score":
        lines.append("No traders ranked for this period yet.")
    elif not lines:
        lines.append("No trader has enough history for a copy score yet.")
        if page.pending:  # a first start: the other rankings are complete already
            lines.append("The PnL and volume rankings are ready: try `metric: pnl`.")
    lines.append("")
    if note:
        lines.append(note)
    if page.metric == "score":
        lines.extend(_evidence_lines(page))
        if page.record is not None:
            lines.append(record_line(page.record))
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
        text=f"Page {page.page}/{page.total_pages} · {plural(page.trader_count, 'trader')}"
        " · Updated"
    )
    embed.timestamp = datetime.fromtimestamp(page.updated_at, tz=UTC)
    return embed
