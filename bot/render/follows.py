"""/alerts embed: the server's follows, whale watches, signals and trader labels, including
disabled ones and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import discord

from bot.render.numbers import money, plural
from bot.render.text import display_name, short_wallet
from bot.signals.models import SignalWatch
from bot.trades.models import Follow, WhaleWatch

DESCRIPTION_LIMIT = 4000
SIGNAL_TEXT = {
    "fresh": "🆕 fresh wallets",
    "smart": "🧠 smart money (top 25 copy scores)",
    "consensus": "🤝 consensus (3 of the top 50 on one outcome in 24h)",
}


def _disabled(enabled: bool, reason: str | None, command: str) -> str:
    if enabled:
        return ""
    return f"\n  ⚠️ disabled: {reason or 'unknown reason'} (fix it, then {command} again)"


def _category(category: str | None) -> str:
    return f" · {category} only" if category else ""


def follow_line(follow: Follow, label: str | None) -> str:
    floor = f" · ≥ {money(follow.min_usd)}" if follow.min_usd > 0 else ""
    side = "" if follow.side == "both" else f" · {follow.side}s only"
    name = display_name(label or follow.label, follow.wallet)
    return (
        f"• {name} `{short_wallet(follow.wallet)}` → <#{follow.channel_id}>{floor}{side}"
        f"{_category(follow.category)} · {plural(follow.alerts_sent, 'alert')} sent"
        + _disabled(follow.enabled, follow.disabled_reason, "/follow")
    )


def whale_line(watch: WhaleWatch) -> str:
    near = " incl. 95¢+" if watch.include_near_certain else ""
    return (
        f"🐋 whales ≥ {money(watch.min_usd)}{near}{_category(watch.category)}"
        f" → <#{watch.channel_id}> · {plural(watch.alerts_sent, 'alert')} sent"
        + _disabled(watch.enabled, watch.disabled_reason, "/whales")
    )


def signal_line(watch: SignalWatch, sent: int) -> str:
    per = " per trader" if watch.kind == "consensus" else ""
    return (
        f"{SIGNAL_TEXT.get(watch.kind, watch.kind)} ≥ {money(watch.min_usd)}{per}"
        f"{_category(watch.category)} → <#{watch.channel_id}> · {plural(sent, 'alert')} sent"
        + _disabled(watch.enabled, watch.disabled_reason, "/signals")
    )


def alerts_embed(
    follows: Sequence[Follow],
    whales: Sequence[WhaleWatch],
    signals: Sequence[SignalWatch] = (),
    signal_counts: Mapping[tuple[int, str], int] | None = None,
    labels: Mapping[str, str] | None = None,
) -> discord.Embed:
    labels = labels or {}
    counts = signal_counts or {}
    lines = [follow_line(f, labels.get(f.wallet)) for f in follows]
    lines += [whale_line(w) for w in whales]
    lines += [signal_line(s, counts.get((s.channel_id, s.kind), 0)) for s in signals]
    lines += [
        f"🏷 label {display_name(name, wallet)} = `{short_wallet(wallet)}`"
        for wallet, name in sorted(labels.items(), key=lambda item: item[1].lower())
    ]
    if not lines:
        lines.append("No follows yet: /follow a trader, turn on /whales or /signals.")
    text = ""
    for index, line in enumerate(lines):
        if len(text) + len(line) + 40 > DESCRIPTION_LIMIT:
            text += f"…and {len(lines) - index} more"
            break
        text += line + "\n"
    title = (
        f"Alerts in this server · {plural(len(follows), 'follow')},"
        f" {plural(len(whales), 'whale watch', 'whale watches')}, {plural(len(signals), 'signal')}"
    )
    return discord.Embed(title=title, description=text.strip(), colour=discord.Colour.blurple())
