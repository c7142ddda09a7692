"""Alert track record -> text and embed (/track-record, and the record on /trader). Pure."""

from __future__ import annotations

import discord

from bot.render.numbers import cents, count, percent, plural
from bot.render.text import escape_text
from bot.trackrecord.models import Extreme, TrackRecordSummary

KIND_LABELS = {
    "all": "All alerts",
    "follows": "Follows",
    "whales": "Whales",
    "fresh": "Fresh wallets",
    "smart": "Smart money",
    "consensus": "Consensus",
}
PERIOD_LABELS = {"week": "last 7 days", "month": "last 30 days", "all": "since the start"}
COLOUR = discord.Colour.from_rgb(46, 160, 90)


def _share(moved: int, marked: int) -> str:
    return "—" if marked == 0 else f"{percent(moved / marked)} of {count(marked)}"


def _average(summary: TrackRecordSummary) -> str:
    if summary.average_return is None:
        return "—"
    return percent(summary.average_return, digits=1, signed=True)


def _extreme(found: Extreme | None) -> str:
    if found is None:
        return "—"
    what = escape_text(f"{found.side.title()} {found.outcome} · {found.title}", 80)
    return f"{percent(found.return_, digits=1, signed=True)} · {what} @ {cents(found.alert_price)}"


def record_summary_line(summary: TrackRecordSummary) -> str:
    """One line: alerts, share that moved the trade's way at 24 h, average return, open."""
    if summary.alerts == 0:
        return "No alerts on their trades yet."
    return (
        f"{plural(summary.alerts, 'alert')} · moved their way at 24 h:"
        f" {_share(summary.moved_24h, summary.marked_24h)} · average {_average(summary)} if"
        f" copied at the alert price · {count(summary.open)} open"
    )


def track_record_embed(summary: TrackRecordSummary, kind: str, period: str) -> discord.Embed:
    """This server's alerts of one kind and period, and how they went."""
    embed = discord.Embed(
        title=f"Track record · {KIND_LABELS[kind]} · {PERIOD_LABELS[period]}",
        colour=COLOUR,
    )
    if summary.alerts == 0:
        embed.description = (
            "No alerts of this kind were sent in this server in that period yet. Alerts are"
            " followed from the moment they are sent."
        )
        return embed
    embed.description = (
        "Every alert is judged as if its trade had been copied at the alert price: the payout"
        " (1 or 0 per share) once the market resolved, else the latest price."
    )
    embed.add_field(name="Alerts", value=count(summary.alerts))
    embed.add_field(
        name="Moved their way at 1 h", value=_share(summary.moved_1h, summary.marked_1h)
    )
    embed.add_field(
        name="Moved their way at 24 h", value=_share(summary.moved_24h, summary.marked_24h)
    )
    embed.add_field(name="Average return if copied", value=_average(summary))
    embed.add_field(name="Still open", value=count(summary.open))
    embed.add_field(name="Priced", value=count(summary.returns))
    embed.add_field(name="Best", value=_extreme(summary.best), inline=False)
    embed.add_field(name="Worst", value=_extreme(summary.worst), inline=False)
    return embed
