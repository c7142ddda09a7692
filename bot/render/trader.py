"""Trader profile -> embed. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.render.numbers import cents, count, integer, money, percent, price_move, score
from bot.render.text import display_name, escape_text, profile_url, relative_time, short_wallet
from bot.traders.models import TraderProfile

PERIOD_NAMES = {"day": "Day", "week": "Week", "month": "Month", "all": "All"}
COMPONENT_NAMES = {
    "margin": "margin",
    "win_rate": "win rate",
    "consistency": "consistency",
    "recency": "recency",
    "mm_penalty": "market-maker penalty",
    "luck_penalty": "one-bet penalty",
}


def trader_embed(profile: TraderProfile, *, chart_name: str | None = None) -> discord.Embed:
    name = display_name(profile.name or profile.pseudonym, profile.wallet)
    embed = discord.Embed(
        title=f"{name} · copy score {score(profile.score.score)}",
        url=profile_url(profile.wallet),
        description=f"`{profile.wallet}`",
        colour=discord.Colour.blurple(),
    )
    ranks = [
        f"**{PERIOD_NAMES[p]}** #{s.rank} · PnL {money(s.pnl)} · Vol {money(s.volume)}"
        for p, s in profile.standings.items()
    ]
    embed.add_field(
        name="Leaderboard", value="\n".join(ranks) or "Not on the leaderboard", inline=False
    )
    parts = [
        f"{COMPONENT_NAMES[k]} {percent(v)}"
        for k, v in profile.score.components.items()
        if k in COMPONENT_NAMES
    ]
    embed.add_field(name="Copy score parts", value=" · ".join(parts) or "—", inline=False)
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
