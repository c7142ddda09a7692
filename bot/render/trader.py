"""Trader profile -> embed. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.leaderboard.evidence import PART_LABELS, contributions, shown_score
from bot.render import numbers
from bot.render.numbers import cents, count, integer, money, percent, price_move
from bot.render.text import display_name, escape_text, profile_url, relative_time, short_wallet
from bot.render.trackrecord import record_summary_line
from bot.traders.models import TraderProfile

PERIOD_NAMES = {"day": "Day", "week": "Week", "month": "Month", "all": "All"}
RANK_LABELS = {"score": "by copy score", "pnl": "by PnL"}


def _score_title(profile: TraderProfile) -> str:
    if profile.score is None:
        return "no copy score"
    return f"copy score {numbers.count(shown_score(profile.score.score))}"


def score_parts(profile: TraderProfile) -> str:
    """The score as weighted parts that add up to it, or why there is none."""
    if profile.score is None:
        need = profile.thresholds
        return (
            "Not enough history for a copy score: "
            f"{numbers.count(profile.stats.closed_recent)} of"
            f" {numbers.plural(need.min_closed, 'closed position')}"
            f" and {numbers.money(profile.volume_recent)} of {numbers.money(need.min_volume)}"
            " traded in the last 90 days."
        )
    parts = contributions(profile.score.components, profile.score.score)
    terms = [
        f"{PART_LABELS[name]} {numbers.MINUS if points < 0 else '+'}{numbers.count(abs(points))}"
        for name, points in parts
        if points or name in ("margin", "win_rate", "consistency", "recency")
    ]
    return " ".join(terms) + f" = **{numbers.count(shown_score(profile.score.score))}**"


def trader_embed(profile: TraderProfile, *, chart_name: str | None = None) -> discord.Embed:
    name = display_name(profile.name or profile.pseudonym, profile.wallet)
    embed = discord.Embed(
        title=f"{name} · {_score_title(profile)}",
        url=profile_url(profile.wallet),
        description=f"`{profile.wallet}`",
        colour=discord.Colour.blurple(),
    )
    ranks = [
        f"**{PERIOD_NAMES[p]}** #{s.rank} {RANK_LABELS[s.metric]}"
        f" · PnL {numbers.money(s.pnl, signed=True)} · Vol {numbers.money(s.volume)}"
        for p, s in profile.standings.items()
    ]
    embed.add_field(
        name="Leaderboard", value="\n".join(ranks) or "Not on the leaderboard", inline=False
    )
    embed.add_field(name="Copy score", value=score_parts(profile), inline=False)
    if profile.alerts is not None:
        embed.add_field(
            name="Alert record (every server)",
            value=record_summary_line(profile.alerts),
            inline=False,
        )
    win = profile.win_rate
    closed = profile.stats.closed_count
    embed.add_field(
        name="Win rate",
        value=f"{percent(win)} of {integer(closed)} closed"
        if win is not None
        else "no closed positions",
    )
    embed.add_field(name="Markets traded", value=integer(profile.markets_traded))
    embed.add_field(
        name="Last trade",
        value=relative_time(profile.stats.last_trade_at) if profile.stats.last_trade_at else "—",
    )
    lines = [
        f"{escape_text(p.title or p.slug, 50)} · **{escape_text(p.outcome, 20)}** · "
        f"{count(p.size)} sh · {price_move(p.avg_price, p.cur_price)} · "
        f"{money(p.cash_pnl, signed=True)}"
        for p in profile.positions
    ]
    embed.add_field(name="Top open positions", value="\n".join(lines) or "none", inline=False)
    trades = [
        f"{relative_time(t['timestamp'])} {t['side']} **{escape_text(str(t['outcome']), 20)}** "
        f"{escape_text(str(t['title']), 45)} @ {cents(float(t['price']))} · "
        f"{money(float(t['usd']))}"
        for t in profile.latest_trades
    ]
    embed.add_field(name="Latest trades", value="\n".join(trades) or "none", inline=False)
    if chart_name:
        embed.set_image(url=f"attachment://{chart_name}")
    embed.set_footer(text=f"{short_wallet(profile.wallet)} · details as of")
    embed.timestamp = datetime.fromtimestamp(profile.details_at or 0, tz=UTC)
    return embed
