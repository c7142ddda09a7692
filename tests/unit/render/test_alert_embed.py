"""Alert cards -> embeds and link buttons: what a trader reads at a glance for each kind of
alert, and that upstream text (usernames, outcomes, market titles) can neither ping anyone nor
break the formatting, nor push a full message past Discord's limits."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.polymarket.records import Trade
from bot.render.alerts import (
    BUY_COLOUR,
    CARD_BUDGET,
    KIND_COLOURS,
    SELL_COLOUR,
    alert_embed,
    alert_view,
    market_url,
    trader_name,
)
from bot.signals.models import CardContext, ConsensusParticipant, PositionChange, Standing
from bot.trades.cards import MAX_CARDS, AlertCard
from tests import factories

WALLET = "0xfe787d2da716d60e8acff57fb87eb13cd4d10319"
SHORT = "0xfe78…0319"
TS = 1_800_000_000.0


def make_trade(**overrides: Any) -> Trade:
    defaults = {"wallet": WALLET, "timestamp": TS, "name": "BraveFox", "pseudonym": "Brave-Fox"}
    return factories.make_trade(**{**defaults, **overrides})


def card(*trades: Trade, kind: str = "follow", delayed: bool = False) -> AlertCard:
    return AlertCard(trades or (make_trade(),), kind, delayed)


def render(alert: AlertCard, context: CardContext | None = None) -> dict[str, Any]:
    return alert_embed(alert, context or CardContext()).to_dict()


def fields_of(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed["fields"]}


# ---- the title: side, dollars, outcome, price, chance ------------------------------------------


def test_single_follow_alert() -> None:
    trade = make_trade()
    embed = render(card(trade))
    assert embed["title"] == "🟢 $5 BUY Yes @ 50¢ (50%)"
    assert embed["description"] == (
        "[Will it rain in London?](https://polymarket.com/event/weather-london)"
    )
    assert embed["color"] == BUY_COLOUR.value
    assert embed["author"] == {
        "name": "BraveFox",
        "url": f"https://polymarket.com/profile/{WALLET}",
    }
    assert embed["timestamp"].startswith("2027-01-15T08:00:00")
    assert fields_of(embed) == {
        "Trader": f"not ranked\n`{SHORT}`",
        "Shares": "10",
        "Transaction": (
            f"[{trade.transaction_hash[:6]}…{trade.transaction_hash[-4:]}]"
            f"(https://polygonscan.com/tx/{trade.transaction_hash})"
        ),
    }
    assert "footer" not in embed and "thumbnail" not in embed


def test_the_title_leads_with_the_dollar_value_and_the_implied_chance() -> None:
    embed = render(card(make_trade(size=30_000, price=0.835)))
    assert embed["title"] == "🟢 $25.05K BUY Yes @ 83.5¢ (84%)"


def test_sell_is_red_with_its_own_icon() -> None:
    embed = render(card(make_trade(side="SELL", outcome="No", size=100, price=0.2)))
    assert embed["title"] == "🔴 $20 SELL No @ 20¢ (20%)"
    assert embed["color"] == SELL_COLOUR.value


def test_merged_burst_shows_totals_and_volume_weighted_average() -> None:
    fills = (
        make_trade(size=100, price=0.40),
        make_trade(size=300, price=0.60, timestamp=TS + 5),
        make_trade(size=600, price=0.70, timestamp=TS + 9),
    )
    embed = render(card(*fills))
    assert embed["title"] == "🟢 $640 BUY Yes @ 64¢ (64%) · 3 fills merged"
    assert fields_of(embed)["Shares"] == "1K"
    assert embed["timestamp"].startswith("2027-01-15T08:00:00")  # dated by its first fill
    assert fills[0].transaction_hash in fields_of(embed)["Transaction"]


def test_whales_keep_the_whale_and_a_colour_of_their_own() -> None:
    embed = render(card(make_trade(size=20_000, price=0.6), kind="whale"))
    assert embed["title"] == "🐋 $12K BUY Yes @ 60¢ (60%)"
    assert embed["color"] == KIND_COLOURS["whale"].value
    assert len({c.value for c in (BUY_COLOUR, SELL_COLOUR, *KIND_COLOURS.values())}) == 6


def test_delayed_alert_says_it_was_recovered() -> None:
    assert "Delayed alert" in render(card(kind="follow", delayed=True))["footer"]["text"]


# ---- signals -------------------------------------------------------------------------------------


def test_fresh_wallet_card_says_how_old_the_account_is() -> None:
    embed = render(
        card(make_trade(size=4_000, price=0.5), kind="fresh"), CardContext(account_age_days=3)
    )
    assert embed["title"] == "🆕 $2K BUY Yes @ 50¢ (50%)"
    assert embed["description"].split("\n")[1] == "🆕 **Fresh wallet**: account 3d old"
    assert embed["color"] == KIND_COLOURS["fresh"].value


def test_smart_money_card_names_the_rank() -> None:
    context = CardContext(standing=Standing("week", 4, 12_345.0, 71.25), win_rate=0.63)
    embed = render(card(kind="smart"), context)
    assert embed["title"].startswith("🧠 $5 BUY Yes")
    assert "🧠 **Smart money**: #4 by copy score this week" in embed["description"]
    assert fields_of(embed)["Trader"] == (
        f"#4 this week · +$12.35K PnL · score 71.2 · 63% win rate\n`{SHORT}`"
    )


def test_consensus_card_names_the_traders_their_sizes_and_the_average_price() -> None:
    people = (
        ConsensusParticipant("0x" + "1" * 40, "Alpha", 2, 1_200.0, 3_000.0),
        ConsensusParticipant("0x" + "2" * 40, "", 9, 800.0, 1_600.0),
        ConsensusParticipant("0x" + "3" * 40, "@everyone", 30, 500.0, 1_000.0),
    )
    embed = render(card(kind="consensus"), CardContext(participants=people))
    # $2,500 for 5,600 shares: 44.6¢ on average
    assert embed["title"] == "🤝 $2.5K BUY Yes @ 44.6¢ (45%) · 3 top traders"
    assert "🤝 **Consensus**: 3 top traders bought Yes within 24h" in embed["description"]
    lines = fields_of(embed)["Top traders"].split("\n")
    assert lines[0] == "#2 Alpha · $1.2K @ 40¢"
    assert lines[1] == "#9 0x2222…2222 · $800 @ 50¢"
    assert "@everyone" not in lines[2] and lines[2].endswith("· $500 @ 50¢")
    assert "Shares" not in fields_of(embed)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("0xDEAD…BEEF", "0xDEAD…BEEF · 0x4444…4444"),  # imitates a wallet: the real one beside it
        (" 0x4444…4444 ", "0x4444…4444"),  # its own short wallet: true, so shown once
        ("0x" + "9" * 40, "0x4444…4444"),  # a full address (a default name): the real wallet
        ("0x" + "9" * 40 + "-1712345678901", "0x4444…4444"),
        ("", "0x4444…4444"),
        ("   ", "0x4444…4444"),
        ("BraveFox", "BraveFox"),
    ],
)
def test_a_top_trader_with_a_wallet_like_name_is_shown_with_the_real_wallet(
    name: str, shown: str
) -> None:
    person = ConsensusParticipant("0x" + "4" * 40, name, 3, 900.0, 1_800.0)
    embed = render(card(kind="consensus"), CardContext(participants=(person,)))
    assert fields_of(embed)["Top traders"] == f"#3 {shown} · $900 @ 50¢"


# ---- trader and position context -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (PositionChange("new", 0, 10), "📥 New position · 10 shares"),
        (PositionChange("added", 100, 2_500), "➕ Added · now 2.5K shares"),
        (PositionChange("trimmed", 100, 60, 0.4), "✂️ Trimmed 40% · 60 shares left"),
        (
            PositionChange("closed", 100, 0, 1.0, 120.6),
            "📤 Closed the position · realised PnL +$121",
        ),
        (
            PositionChange("closed", 100, 0, 1.0, -43.0),
            "📤 Closed the position · realised PnL −$43",
        ),
        (PositionChange("closed", 100, 0, 1.0, None), "📤 Closed the position"),
    ],
)
def test_position_context(change: PositionChange, line: str) -> None:
    embed = render(card(), CardContext(position=change))
    assert embed["description"].split("\n")[-1] == line


def test_current_price_only_when_it_moved_by_a_tick() -> None:
    alert = card(make_trade(price=0.5))
    assert "Current price" not in fields_of(render(alert, CardContext(current_price=0.505)))
    assert fields_of(render(alert, CardContext(current_price=0.51)))["Current price"] == "51¢"
    fine = CardContext(current_price=0.505, tick_size=0.001)
    assert fields_of(render(alert, fine))["Current price"] == "50.5¢"
    # no tick known: a fill priced finer than a cent says the market ticks in 0.1¢
    finer = card(make_trade(price=0.835))
    assert fields_of(render(finer, CardContext(current_price=0.837)))["Current price"] == "83.7¢"


def test_market_icon_is_the_thumbnail_when_polymarket_gives_one() -> None:
    icon = "https://polymarket-upload.s3.us-east-2.amazonaws.com/rain.png"
    assert render(card(), CardContext(icon=icon))["thumbnail"]["url"] == icon
    assert "thumbnail" not in render(card(), CardContext(icon="javascript:alert(1)"))


# ---- names ---------------------------------------------------------------------------------------


def test_a_server_label_shows_with_the_short_wallet() -> None:
    embed = render(card(), CardContext(label="Our whale"))
    assert embed["author"]["name"] == f"Our whale · {SHORT}"


def test_a_name_that_looks_like_a_wallet_never_stands_alone() -> None:
    fake = "0xfe787d2da716d60e8acff57fb87eb13cd4d1fake"
    embed = render(card(make_trade(name=fake)))
    assert embed["author"]["name"] == f"{fake[:31]}… · {SHORT}"
    assert trader_name("0xDEAD…BEEF", WALLET) == f"0xDEAD…BEEF · {SHORT}"
    assert trader_name("BraveFox", WALLET) == "BraveFox"


def test_default_username_is_replaced_by_a_short_wallet() -> None:
    trade = make_trade(name=f"{WALLET.upper().replace('0X', '0x')}-1712345678901", pseudonym="")
    assert render(card(trade))["author"]["name"] == SHORT


def test_pseudonym_when_there_is_no_name() -> None:
    assert render(card(make_trade(name="", pseudonym="Lucky-Otter")))["author"]["name"] == (
        "Lucky-Otter"
    )


def test_names_outcomes_and_titles_cannot_ping_or_format() -> None:
    trade = make_trade(
        name="@everyone **rich**",
        outcome="**Yes** @here",
        title="@everyone __rigged__ `market` ||spoiler||",
    )
    embed = render(card(trade))
    assert "@everyone" not in embed["author"]["name"]  # a zero-width space after the @
    assert "\\" not in embed["author"]["name"] and "**rich**" in embed["author"]["name"]
    assert "@here" not in embed["title"] and "\\*\\*Yes\\*\\*" in embed["title"]
    for raw in ("@everyone", "__rigged__", "`market`", "||spoiler||"):
        assert raw not in embed["description"]


def test_brackets_in_a_market_title_cannot_inject_a_link() -> None:
    description = render(card(make_trade(title="Fair? [click](https://evil.example) [")))[
        "description"
    ]
    assert "[click](https://evil.example)" not in description


def test_long_market_title_is_cut_and_missing_fields_have_fallbacks() -> None:
    embed = render(card(make_trade(title="Q" * 500, outcome="")))
    assert embed["title"] == "🟢 $5 BUY ? @ 50¢ (50%)"
    text = embed["description"].split("](")[0].lstrip("[")
    assert len(text) <= 200 and text.endswith("…")


def test_market_link_prefers_the_event_then_the_market_then_none() -> None:
    assert market_url("m", "e") == "https://polymarket.com/event/e"
    assert market_url("m", "") == "https://polymarket.com/market/m"
    assert market_url("", "") is None
    assert render(card(make_trade(slug="", event_slug="", title="")))["description"] == (
        "Unknown market"
    )


# ---- Discord's limits ----------------------------------------------------------------------------


def worst_card(kind: str) -> tuple[AlertCard, CardContext]:
    long = "W" * 300
    fills = tuple(
        make_trade(
            timestamp=TS + n,
            name="N" * 200,
            outcome="O" * 200,
            title=long,
            event_slug="e" * 180,
            size=123_456.789,
            price=0.123,
        )
        for n in range(50)
    )
    people = tuple(
        # Wallet-like names: the longest line, the name cut and the real wallet beside it.
        ConsensusParticipant(f"0x{n:040x}", "0x" + "P" * 98, n, 1e6, 2e6)
        for n in range(1, 51)
    )
    context = CardContext(
        standing=Standing("month", 1234, -9_876_543.21, 99.99),
        win_rate=0.5,
        current_price=0.987,
        label="L" * 32,
        position=PositionChange("closed", 1e9, 0, 1.0, -1e9),
        icon="https://x.example/" + "i" * 500,
        account_age_days=13.9,
        participants=people,
    )
    return AlertCard(fills, kind, True), context


@pytest.mark.parametrize("kind", ["follow", "whale", "fresh", "smart", "consensus"])
def test_every_card_fits_its_share_of_a_message(kind: str) -> None:
    alert, context = worst_card(kind)
    embed = alert_embed(alert, context)
    assert len(embed) <= CARD_BUDGET
    assert len(embed.title or "") <= 256 and len(embed.author.name or "") <= 256
    assert all(len(f.value or "") <= 1024 for f in embed.fields)
    assert CARD_BUDGET * MAX_CARDS <= 6000


# ---- link buttons --------------------------------------------------------------------------------


def buttons(view: discord.ui.View) -> list[dict[str, Any]]:
    return [row_item for row in view.to_components() for row_item in row["components"]]


def test_link_buttons_to_the_market_and_the_trader() -> None:
    found = buttons(alert_view([card()], [CardContext()]))
    assert [(b["label"], b["url"], b["style"]) for b in found] == [
        ("Market", "https://polymarket.com/event/weather-london", 5),
        ("BraveFox on Polymarket", f"https://polymarket.com/profile/{WALLET}", 5),
    ]
    assert all("custom_id" not in b for b in found)


def test_buttons_of_a_message_with_several_cards_are_numbered_and_not_repeated() -> None:
    other = make_trade(wallet="0x" + "a" * 40, name="Other", event_slug="other-event")
    found = buttons(alert_view([card(), card(make_trade()), card(other)], [CardContext()] * 3))
    labels = [b["label"] for b in found]
    assert labels == [
        "1 · Market",
        "1 · BraveFox on Polymarket",
        "3 · Market",
        "3 · Other on Polymarket",
    ]


def test_consensus_buttons_link_its_traders_and_never_exceed_discords_limit() -> None:
    alert, context = worst_card("consensus")
    view = alert_view([alert] * MAX_CARDS, [context] * MAX_CARDS)
    found = buttons(view)
    assert 1 <= len(found) <= 25 and len(view.to_components()) <= 5
    assert all(len(b["label"]) <= 80 for b in found)
    name = buttons(alert_view([card(make_trade(name="0xBAD"))], [CardContext()]))[1]["label"]
    assert name == f"0xBAD {SHORT} on Polymarket"
