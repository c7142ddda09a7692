"""/alerts overview: follows, whale watches, signals and labels, and why something is disabled."""

from __future__ import annotations

from typing import Any

from bot.render.follows import alerts_embed
from bot.signals.models import SignalWatch
from bot.trades.models import Follow, WhaleWatch

WALLET = "0xfe787d2da716d60e8acff57fb87eb13cd4d10319"


def make_follow(**overrides: Any) -> Follow:
    fields: dict[str, Any] = {
        "id": 1,
        "guild_id": 1,
        "channel_id": 555,
        "wallet": WALLET,
        "label": "BraveFox",
        "min_usd": 0.0,
        "side": "both",
        "created_at": 1_800_000_000.0,
        "alerts_sent": 4,
    }
    fields.update(overrides)
    return Follow(**fields)


def test_overview_lists_follows_whales_and_why_something_is_disabled() -> None:
    follows = [
        make_follow(),
        make_follow(
            id=2,
            label="@everyone",
            min_usd=2500,
            side="sell",
            enabled=False,
            disabled_reason="Missing Access",
            category="sports",
        ),
    ]
    whales = [WhaleWatch(777, 1, 10_000, True, alerts_sent=9, category="crypto")]
    embed = alerts_embed(follows, whales)
    text = embed.description or ""
    assert embed.title == "Alerts in this server · 2 follows, 1 whale watch, 0 signals"
    assert "BraveFox `0xfe78…0319` → <#555> · 4 alerts sent" in text
    assert "@everyone" not in text
    assert "≥ $2.5K · sells only · sports only" in text
    assert "⚠️ disabled: Missing Access" in text
    assert "🐋 whales ≥ $10K incl. 95¢+ · crypto only → <#777> · 9 alerts sent" in text


def test_overview_lists_signals_with_their_counts_and_the_servers_labels() -> None:
    signals = [
        SignalWatch(1, "fresh", 600, 1_000.0),
        SignalWatch(1, "consensus", 601, 500.0, "politics", enabled=False, disabled_reason="gone"),
    ]
    labels = {WALLET: "Our whale", "0x" + "1" * 40: "**loud**"}
    embed = alerts_embed([make_follow()], [], signals, {(600, "fresh"): 1}, labels)
    text = embed.description or ""
    assert "Our whale `0xfe78…0319` → <#555>" in text  # the label wins over the follow's name
    assert "🆕 fresh wallets ≥ $1K → <#600> · 1 alert sent" in text
    assert "🤝 consensus (3 of the top 50 on one outcome in 24h) ≥ $500 per trader" in text
    assert "politics only → <#601> · 0 alerts sent\n  ⚠️ disabled: gone" in text
    assert "🏷 label Our whale = `0xfe78…0319`" in text
    assert "**loud**" not in text and "\\*\\*loud\\*\\*" in text
    assert embed.title is not None and embed.title.endswith("2 signals")


def test_empty_overview_says_how_to_start() -> None:
    assert "No follows yet" in (alerts_embed([], []).description or "")


def test_long_overview_is_cut_with_a_count() -> None:
    follows = [make_follow(id=n, wallet=f"0x{n:040x}") for n in range(200)]
    text = alerts_embed(follows, []).description or ""
    assert len(text) <= 4096
    assert "more" in text.splitlines()[-1]
