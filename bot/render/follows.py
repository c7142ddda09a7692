"""/alerts embed: the server's follows and whale watches, including disabled ones and why."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.render.numbers import money, plural
from bot.render.text import display_name, short_wallet
from bot.trades.models import Follow, WhaleWatch

DESCRIPTION_LIMIT = 4000


def alerts_embed(follows: Sequence[Follow], whales: Sequence[WhaleWatch]) -> discord.Embed:
    lines: list[str] = []
    for f in follows:
        floor = f" · ≥ {money(f.min_usd)}" if f.min_usd > 0 else ""
        side = "" if f.side == "both" else f" · {f.side}s only"
        line = (
            f"• {display_name(f.label, f.wallet)} `{short_wallet(f.wallet)}` → <#{f.channel_id}>"
            f"{floor}{side} · {plural(f.alerts_sent, 'alert')} sent"
        )
        if not f.enabled:
            reason = f.disabled_reason or "unknown reason"
            line += f"\n  ⚠️ disabled: {reason} (fix it, then /follow again)"
        lines.append(line)
    for w in whales:
        near = " incl. 95¢+" if w.include_near_certain else ""
        line = (
            f"🐋 whales ≥ {money(w.min_usd)}{near} → <#{w.channel_id}>"
            f" · {plural(w.alerts_sent, 'alert')} sent"
        )
        if not w.enabled:
            reason = w.disabled_reason or "unknown reason"
            line += f"\n  ⚠️ disabled: {reason} (fix it, then /whales again)"
        lines.append(line)
    if not lines:
        lines.append("No follows yet: /follow a trader or turn on /whales.")
    text = ""
    for index, line in enumerate(lines):
        if len(text) + len(line) + 40 > DESCRIPTION_LIMIT:
            text += f"…and {len(lines) - index} more"
            break
        text += line + "\n"
    title = (
        f"Alerts in this server · {plural(len(follows), 'follow')}, "
        f"{plural(len(whales), 'whale watch', 'whale watches')}"
    )
    return discord.Embed(title=title, description=text.strip(), colour=discord.Colour.blurple())
