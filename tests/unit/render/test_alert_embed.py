"""Alert cards -> embeds: what a trader sees for each kind of alert, and that upstream text
(usernames, outcomes, market titles) can neither ping anyone nor break the formatting."""

from __future__ import annotations

import itertools
from typing import Any

import discord
import pytest

from bot.polymarket.records import Trade, trade_key
from bot.render.alerts import (
    BUY_COLOUR,
    SELL_COLOUR,
    AlertContext,
    alert_embed,
    cents,
    market_url,
    shares,
)
from bot.render.follows import alerts_embed
from bot.trades.cards import AlertCard
from bot.trades.models import Follow, WhaleWatch

WALLET = "0xfe787d2da716d60e8acff57fb87eb13cd4d10319"
TS = 1_800_000_000.0
_tx_numbers = itertools.count(1)


def make_trade(**overrides: Any) -> Trade:
    fields: dict[str, Any] = {
        "wallet": WALLET,
        "asset": "token-yes",
        "condition_id": "0x" + "c" * 64,
        "side": "BUY",
        "size": 10.0,
        "price": 0.5,
        "timestamp": TS,
        "transaction_hash": f"0x{next(_tx_numbers):064x}",
        "outcome": "Yes",
        "title": "Will it rain in London?",
        "slug": "rain-london",
        "event_slug": "weather-london",
        "name": "BraveFox",
        "pseudonym": "Brave-Fox",
    }
    fields.update(overrides)
    key = trade_key(
        fields["transaction_hash"],
        fields["wallet"],
        fields["asset"],
        fields["side"],
        fields["size"],
        fields["price"],
    )
    return Trade(key=key, **fields)


def render(card: AlertCard, context: AlertContext | None = None) -> dict[str, Any]:
    return alert_embed(card, context or AlertContext()).to_dict()


def fields_of(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed["fields"]}


def test_single_follow_alert() -> None:
    trade = make_trade()
    embed = render(AlertCard((trade,), "follow", False))
    assert embed["title"] == "🟢 BUY Yes"
    assert embed["description"] == (
        "[Will it rain in London?](https://polymarket.com/event/weather-london)"
    )
    assert embed["color"] == BUY_COLOUR.value
    assert embed["author"] == {
        "name": "BraveFox",
        "url": f"https://polymarket.com/profile/{WALLET}",
    }
    assert embed["timestamp"].startswith("2027-01-15T08:00:00")
    fields = fields_of(embed)
    assert (
        fields
        == {
            "Price": "50¢",
            "Shares": "10.00",
            "Value": "$5",
            "Current price": "—",  # no live price known: a dash, never "None" or 0¢
            "Trader": "not ranked\n`0xfe78…0319`",
            "Transaction": (
                f"[{trade.transaction_hash[:6]}…{trade.transaction_hash[-4:]}]"
                f"(https://polygonscan.com/tx/{trade.transaction_hash})"
            ),
        }
    )
    assert "footer" not in embed


def test_sell_is_red_with_its_own_icon() -> None:
    embed = render(AlertCard((make_trade(side="SELL", outcome="No"),), "follow", False))
    assert embed["title"] == "🔴 SELL No"
    assert embed["color"] == SELL_COLOUR.value


def test_merged_burst_shows_totals_and_volume_weighted_average() -> None:
    fills = (
        make_trade(size=100, price=0.40),
        make_trade(size=300, price=0.60, timestamp=TS + 5),
        make_trade(size=600, price=0.70, timestamp=TS + 9),
    )
    embed = render(AlertCard(fills, "follow", False))
    assert embed["title"] == "🟢 BUY Yes · 3 fills merged"
    fields = fields_of(embed)
    assert "Price" not in fields
    assert fields["Avg price"] == "64¢"  # (40 + 180 + 420) / 1000 shares
    assert fields["Shares"] == "1,000"
    assert fields["Value"] == "$640"
    # The card is dated and linked by its first fill.
    assert embed["timestamp"].startswith("2027-01-15T08:00:00")
    assert fills[0].transaction_hash in fields["Transaction"]


def test_whale_alert_is_marked() -> None:
    embed = render(AlertCard((make_trade(size=20_000, price=0.6),), "whale", False))
    assert embed["title"] == "🐋 🟢 BUY Yes"
    assert fields_of(embed)["Value"] == "$12K"


def test_delayed_alert_says_it_was_recovered() -> None:
    embed = render(AlertCard((make_trade(),), "follow", True))
    assert "Delayed alert" in embed["footer"]["text"]


def test_rank_score_and_current_price_from_context() -> None:
    context = AlertContext(rank=3, period="week", score=71.25, current_price=0.625)
    fields = fields_of(render(AlertCard((make_trade(),), "follow", False), context))
    assert fields["Trader"] == "#3 this week · score 71.2\n`0xfe78…0319`"
    assert fields["Current price"] == "62.5¢"
    unscored = AlertContext(rank=12, period="month")
    fields = fields_of(render(AlertCard((make_trade(),), "follow", False), unscored))
    assert fields["Trader"].startswith("#12 this month\n")


def test_names_outcomes_and_titles_cannot_ping_or_format() -> None:
    trade = make_trade(
        name="@everyone **rich**",
        outcome="**Yes** @here",
        title="@everyone __rigged__ `market` ||spoiler||",
    )
    embed = render(AlertCard((trade,), "follow", False))
    assert "@everyone" not in embed["author"]["name"]  # a zero-width space after the @
    # Author names do not render markdown, so the escaping backslashes are dropped there.
    assert "\\" not in embed["author"]["name"] and "**rich**" in embed["author"]["name"]
    assert "@here" not in embed["title"] and "\\*\\*Yes\\*\\*" in embed["title"]
    description = embed["description"]
    assert "@everyone" not in description
    for raw in ("__rigged__", "`market`", "||spoiler||"):
        assert raw not in description


def test_default_username_is_replaced_by_a_short_wallet() -> None:
    trade = make_trade(name=f"{WALLET.upper().replace('0X', '0x')}-1712345678901", pseudonym="")
    assert render(AlertCard((trade,), "follow", False))["author"]["name"] == "0xfe78…0319"


def test_pseudonym_when_there_is_no_name() -> None:
    trade = make_trade(name="", pseudonym="Lucky-Otter")
    assert render(AlertCard((trade,), "follow", False))["author"]["name"] == "Lucky-Otter"


def test_long_market_title_is_cut_and_missing_fields_have_fallbacks() -> None:
    embed = render(AlertCard((make_trade(title="Q" * 500, outcome=""),), "follow", False))
    assert embed["title"] == "🟢 BUY ?"
    text = embed["description"].split("](")[0].lstrip("[")
    assert len(text) == 200 and text.endswith("…")


def test_market_link_prefers_the_event_then_the_market_then_none() -> None:
    assert market_url("m", "e") == "https://polymarket.com/event/e"
    assert market_url("m", "") == "https://polymarket.com/market/m"
    assert market_url("", "") is None
    embed = render(AlertCard((make_trade(slug="", event_slug="", title=""),), "follow", False))
    assert embed["description"] == "Unknown market"


def test_brackets_in_a_market_title_cannot_inject_a_link() -> None:
    trade = make_trade(title="Fair? [click](https://evil.example) [")
    description = render(AlertCard((trade,), "follow", False))["description"]
    assert "[click](https://evil.example)" not in description


def test_embed_fits_discords_limits() -> None:
    fills = tuple(make_trade(timestamp=TS + n, name="N" * 200) for n in range(50))
    embed = alert_embed(AlertCard(fills, "whale", True), AlertContext())
    assert len(embed) <= 6000
    assert len(embed.title or "") <= 256 and len(embed.author.name or "") <= 256
    assert len(embed.description or "") <= 4096


# ---- number formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "text"),
    [(0.5, "50¢"), (0.555, "55.5¢"), (0.05, "5.0¢"), (0.001, "0.1¢"), (1.0, "100¢")],
)
def test_cents(price: float, text: str) -> None:
    assert cents(price) == text


@pytest.mark.parametrize("price", [0.29, 0.57, 0.58])
def test_whole_cent_prices_have_no_decimal(price: float) -> None:
    assert cents(price) == f"{round(price * 100)}¢"


@pytest.mark.parametrize(
    ("amount", "text"), [(5, "5.00"), (12.345, "12.35"), (100, "100"), (1234.5, "1,234")]
)
def test_shares(amount: float, text: str) -> None:
    assert shares(amount) == text


# ---- /alerts overview ----------------------------------------------------------------------------


def make_follow(**overrides: Any) -> Follow:
    fields: dict[str, Any] = {
        "id": 1,
        "guild_id": 1,
        "channel_id": 555,
        "wallet": WALLET,
        "label": "BraveFox",
        "min_usd": 0.0,
        "side": "both",
        "created_at": TS,
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
        ),
    ]
    whales = [WhaleWatch(777, 1, 10_000, True, alerts_sent=9)]
    embed = alerts_embed(follows, whales)
    text = embed.description or ""
    assert embed.title == "Alerts in this server · 2 follows, 1 whale watch"
    assert "BraveFox `0xfe78…0319` → <#555> · 4 alerts sent" in text
    assert "@everyone" not in text
    assert "≥ $2.5K · sells only" in text
    assert "⚠️ disabled: Missing Access" in text
    assert "🐋 whales ≥ $10K incl. 95¢+ → <#777> · 9 alerts sent" in text


def test_empty_overview_says_how_to_start() -> None:
    assert "No follows yet" in (alerts_embed([], []).description or "")


def test_long_overview_is_cut_with_a_count() -> None:
    follows = [make_follow(id=n, wallet=f"0x{n:040x}") for n in range(200)]
    text = alerts_embed(follows, []).description or ""
    assert len(text) <= 4096
    assert "more" in text.splitlines()[-1]


def test_colours_are_distinct() -> None:
    assert isinstance(BUY_COLOUR, discord.Colour) and BUY_COLOUR != SELL_COLOUR
