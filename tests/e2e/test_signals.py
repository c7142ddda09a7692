"""Cards and signals end to end: fake RTDS -> the real bot -> fake Discord, with PostgreSQL.

What a trader sees: a card whose title carries the dollar value, link buttons, a position
closed by a full sell; fresh-wallet, smart-money and consensus alerts for the right trade and
not the wrong one; whale alerts filtered by category; a server's label on the card; and all of
it exactly once across a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.app import Application
from bot.config import Settings
from tests.e2e.harness import running_bot, settings_for, wait_until
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

# Seconds after the expected alerts in which a wrong or second one would show: longer than a
# channel's pacing (one message per 1.25 s).
SETTLE = 1.5


@pytest.fixture
async def polymarket() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=30, seed=11)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS) -> Settings:
    return settings_for(discord_fake, polymarket, rtds.url)


async def start(
    discord_fake: FakeDiscord, pool: asyncpg.Pool, settings: Settings, rtds: FakeRTDS
) -> AsyncIterator[Application]:
    async with running_bot(discord_fake, pool, settings) as app:
        await rtds.wait_for_subscribers(1)
        await wait_until(lambda: app.leaderboard.board("week") is not None, timeout=20)
        # The first refresh goes on reading every trader's details (and positions) after the
        # boards are out; the fake's positions do not know the trades a test pushes, so let it
        # finish before the test trades.
        await wait_until(lambda: not app.leaderboard.refreshing, timeout=30)
        app.signals.refresh_boards()  # the loop takes the new board within 15 s; now, here
        yield app


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, pool: asyncpg.Pool, settings: Settings, rtds: FakeRTDS
) -> AsyncIterator[Application]:
    async for running in start(discord_fake, pool, settings, rtds):
        yield running


async def command(discord_fake: FakeDiscord, command_name: str, **options: Any) -> str:
    interaction = await discord_fake.invoke(
        command_name, options, user_id=discord_fake.admin_user_id
    )
    reply = await interaction.wait_response()
    return str(reply["content"] or "")


def cards(discord_fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [e for m in discord_fake.channel_messages.get(channel_id, []) for e in m["embeds"]]


async def wait_cards(discord_fake: FakeDiscord, channel_id: int, n: int) -> list[dict[str, Any]]:
    await wait_until(lambda: len(cards(discord_fake, channel_id)) >= n, timeout=10)
    await asyncio.sleep(SETTLE)
    return cards(discord_fake, channel_id)


def top_wallets(app: Application, n: int) -> list[str]:
    board = app.leaderboard.board("week")
    assert board is not None
    return [e.wallet for e in board.by_metric["score"][:n]]


def new_market(polymarket: FakePolymarket, question: str, tags: tuple[str, ...]) -> dict[str, Any]:
    """A market nobody holds yet, with its trade fields for FakeRTDS.make_payload."""
    market = polymarket.add_market(question, prices=(0.4, 0.6), tags=tags)
    token = market["clobTokenIds"].strip('[]"').split('", "')[0]
    return {
        "asset": token,
        "condition_id": market["conditionId"],
        "title": question,
        "slug": market["slug"],
        "event_slug": market["events"][0]["slug"],
    }


# ---- cards ---------------------------------------------------------------------------------------


async def test_card_leads_with_the_dollars_has_link_buttons_and_a_full_sell_closes(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    channel = await discord_fake.add_channel("follows")
    trader = sorted(polymarket.traders)[0]
    assert "Following" in await command(discord_fake, "follow", trader=trader, channel=channel)
    await app.bus.drain()  # the follow read the trader's open positions
    market = new_market(polymarket, "Will it snow in Tokyo?", ("Weather",))
    await rtds.push(rtds.make_payload(wallet=trader, size=1_000, price=0.4, **market))
    buy = (await wait_cards(discord_fake, channel, 1))[0]
    assert buy["title"] == "🟢 $400 BUY Yes @ 40¢ (40%)"
    assert "📥 New position · 1K shares" in buy["description"]
    assert buy["thumbnail"]["url"].startswith("https://polymarket-upload.s3")
    message = discord_fake.channel_messages[channel][0]
    links = [c for row in message["components"] for c in row["components"]]
    assert [(b["style"], b["url"]) for b in links] == [
        (5, f"https://polymarket.com/event/{market['event_slug']}"),
        (5, f"https://polymarket.com/profile/{trader}"),
    ]

    await rtds.push(rtds.make_payload(wallet=trader, size=1_000, price=0.55, side="SELL", **market))
    sell = (await wait_cards(discord_fake, channel, 2))[1]
    assert sell["title"] == "🔴 $550 SELL Yes @ 55¢ (55%)"
    assert "📤 Closed the position · realised PnL +$150" in sell["description"]


# ---- signals -------------------------------------------------------------------------------------


async def test_fresh_wallets_alert_and_old_ones_do_not(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    channel = await discord_fake.add_channel("fresh")
    reply = await command(discord_fake, "signals", kind="fresh", channel=channel)
    assert "Fresh signals on" in reply and "$1K or more" in reply
    newcomer, veteran = "0x" + "5e" * 20, sorted(polymarket.traders)[1]
    polymarket.add_account(newcomer, time.time() - 3 * 86_400)
    fresh = rtds.make_payload(wallet=newcomer, size=5_000, price=0.5)
    for payload in (
        rtds.make_payload(wallet=veteran, size=5_000, price=0.5),
        rtds.make_payload(wallet=newcomer, size=100, price=0.5),  # below the threshold
        fresh,
    ):
        await rtds.push(payload)
    [card] = await wait_cards(discord_fake, channel, 1)
    assert card["title"] == "🆕 $2.5K BUY Yes @ 50¢ (50%)"
    assert "🆕 **Fresh wallet**: account 3d old" in card["description"]
    assert fresh["transactionHash"].lower() in str(card["fields"])


async def test_smart_money_alerts_a_top_trader_and_not_an_unranked_one(
    app: Application, discord_fake: FakeDiscord, rtds: FakeRTDS
) -> None:
    channel = await discord_fake.add_channel("smart")
    assert "Smart signals on" in await command(
        discord_fake, "signals", kind="smart", channel=channel
    )
    best = top_wallets(app, 1)[0]
    await rtds.push(rtds.make_payload(wallet="0x" + "0d" * 20, size=2_000, price=0.5))
    await rtds.push(rtds.make_payload(wallet=best, size=2_000, price=0.5))
    [card] = await wait_cards(discord_fake, channel, 1)
    assert card["title"].startswith("🧠 $1K BUY Yes")
    assert "🧠 **Smart money**: #1 by copy score this week" in card["description"]


async def test_three_top_traders_on_one_outcome_make_one_consensus_and_a_fourth_none(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    channel = await discord_fake.add_channel("consensus")
    await command(discord_fake, "signals", kind="consensus", channel=channel, min_usd=500)
    market = new_market(polymarket, "Will the Fed cut in June?", ("Economy",))
    first, second, third, fourth = top_wallets(app, 4)
    for owner in (first, second, third, fourth):
        await rtds.push(rtds.make_payload(wallet=owner, size=2_000, price=0.4, **market))
        await asyncio.sleep(0.05)
    [card] = await wait_cards(discord_fake, channel, 1)
    assert card["title"] == "🤝 $2.4K BUY Yes @ 40¢ (40%) · 3 top traders"
    traders = next(f["value"] for f in card["fields"] if f["name"] == "Top traders")
    assert len(traders.split("\n")) == 3 and all(
        "$800 @ 40¢" in line for line in traders.split("\n")
    )
    await asyncio.sleep(SETTLE)
    assert len(cards(discord_fake, channel)) == 1
    status = await discord_fake.invoke(
        "admin", subcommand="status", user_id=discord_fake.admin_user_id
    )
    fields = {f["name"]: f["value"] for f in (await status.wait_response())["embeds"][0]["fields"]}
    assert (
        "Signals: watches 1 · top traders watched 30 · consensus fired 1" in fields["Live trades"]
    )


# ---- noise control -------------------------------------------------------------------------------


async def test_category_filters_whale_alerts(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    channel = await discord_fake.add_channel("sports-whales")
    reply = await command(discord_fake, "whales", channel=channel, min_usd=5_000, category="sports")
    assert "in sports markets" in reply
    sports = new_market(polymarket, "Will Arsenal win on Sunday?", ("Sports", "Soccer"))
    crypto = new_market(polymarket, "Bitcoin up or down today?", ("Crypto",))
    stranger = "0x" + "ab" * 20
    await rtds.push(rtds.make_payload(wallet=stranger, size=20_000, price=0.5, **crypto))
    await rtds.push(rtds.make_payload(wallet=stranger, size=20_000, price=0.5, **sports))
    [card] = await wait_cards(discord_fake, channel, 1)
    assert card["title"].startswith("🐋 $10K BUY Yes") and "Arsenal" in card["description"]


async def test_a_label_shows_on_cards_in_alerts_and_in_suggestions(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    channel = await discord_fake.add_channel("labelled")
    trader = sorted(polymarket.traders)[2]
    assert "is now **Big Fish**" in await command(
        discord_fake, "label", trader=trader, name="Big Fish"
    )
    await command(discord_fake, "follow", trader="Big Fish", channel=channel)  # by its label
    await rtds.push(rtds.make_payload(wallet=trader, size=10, price=0.5))
    [card] = await wait_cards(discord_fake, channel, 1)
    assert card["author"]["name"] == f"Big Fish · {trader[:6]}…{trader[-4:]}"

    await command(discord_fake, "signals", kind="smart", channel=channel)
    listing = await discord_fake.invoke("alerts", {}, user_id=discord_fake.user_id)
    text = (await listing.wait_response())["embeds"][0]["description"]
    assert "Big Fish `" in text and "🏷 label Big Fish" in text and "🧠 smart money" in text
    choices = await discord_fake.autocomplete(
        "follow", {"trader": "big"}, "trader", user_id=discord_fake.admin_user_id
    )
    assert choices[0] == {"name": f"🏷 Big Fish ({trader[:6]}…{trader[-4:]})", "value": trader}

    assert "Removed" in await command(discord_fake, "label", trader=trader)
    await rtds.push(rtds.make_payload(wallet=trader, size=12, price=0.5))
    await wait_cards(discord_fake, channel, 2)
    assert "Big Fish" not in cards(discord_fake, channel)[1]["author"]["name"]


async def test_signals_and_label_refuse_a_member_without_manage_channels(
    app: Application, discord_fake: FakeDiscord
) -> None:
    # Where /signals checks it (the named channel, not where it was typed):
    # tests/e2e/test_channel_permissions.py.
    refused = await discord_fake.invoke(
        "signals", {"kind": "fresh", "channel": discord_fake.other_channel_id},
        user_id=discord_fake.user_id,
    )  # fmt: skip
    assert "Manage Channels" in (await refused.wait_response())["content"]
    label = await discord_fake.invoke(
        "label", {"trader": "0x" + "1" * 40, "name": "x"}, user_id=discord_fake.user_id
    )
    assert "Manage Channels" in (await label.wait_response())["content"]
    off = await command(discord_fake, "signals", kind="consensus", min_usd=0)
    assert off == "Consensus signals are off in this server."
    too_long = await command(discord_fake, "label", trader="0x" + "1" * 40, name="n" * 40)
    assert "at most 32 characters" in too_long


# ---- exactly once across a restart ---------------------------------------------------------------


async def test_every_kind_exactly_once_across_a_restart(
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    channels = {
        kind: await discord_fake.add_channel(kind) for kind in ("fresh", "smart", "consensus")
    }
    newcomer = "0x" + "7e" * 20
    polymarket.add_account(newcomer, time.time() - 86_400)
    market = new_market(polymarket, "Will it rain in Paris?", ("Weather",))
    frames: list[dict[str, Any]] = []
    async for app in start(discord_fake, pool, settings, rtds):
        for kind, channel in channels.items():
            await command(discord_fake, "signals", kind=kind, channel=channel)
        await command(discord_fake, "label", trader=newcomer, name="Newbie")
        tops = top_wallets(app, 4)
        frames = [rtds.make_payload(wallet=w, size=2_000, price=0.4, **market) for w in tops[:3]]
        frames.append(rtds.make_payload(wallet=newcomer, size=5_000, price=0.5))
        for payload in frames:
            await rtds.push(payload)
            await asyncio.sleep(0.05)
        await wait_cards(discord_fake, channels["smart"], 3)
    before = {kind: len(cards(discord_fake, c)) for kind, c in channels.items()}
    assert before == {"fresh": 1, "smart": 3, "consensus": 1}

    async for app in start(discord_fake, pool, settings, rtds):
        for payload in frames:  # the stream sends them again after a reconnect
            await rtds.push(payload)
        fourth = top_wallets(app, 4)[3]
        await rtds.push(rtds.make_payload(wallet=fourth, size=2_000, price=0.4, **market))
        await rtds.push(rtds.make_payload(wallet=newcomer, size=6_000, price=0.5))
        await wait_cards(discord_fake, channels["fresh"], 2)
        await wait_cards(discord_fake, channels["smart"], 4)
        after = {kind: len(cards(discord_fake, c)) for kind, c in channels.items()}
        assert after == {"fresh": 2, "smart": 4, "consensus": 1}
        assert cards(discord_fake, channels["fresh"])[1]["author"]["name"].startswith("Newbie · ")
