"""/trader and /market end to end: the real bot, fake Discord, fake Polymarket, PostgreSQL."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.app import Application
from tests.e2e.harness import first_refresh_done, running_bot, settings_for
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DETAIL_PATHS = ("/positions", "/closed-positions", "/activity")


@pytest.fixture
async def polymarket() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=15, seed=31)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    async with running_bot(discord_fake, pool, settings_for(discord_fake, polymarket)) as app:
        await first_refresh_done(app, timeout=20)
        yield app


def detail_calls(polymarket: FakePolymarket) -> int:
    return sum(polymarket.calls[path] for path in DETAIL_PATHS)


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


def png_attached(discord_fake: FakeDiscord, message: dict[str, Any]) -> bytes:
    attachments = message.get("attachments") or []
    assert attachments, message
    data = discord_fake.attachment_bytes[int(attachments[0]["id"])]
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1200 and height >= 600  # drawn for high-density screens
    return data


async def test_trader_by_wallet_is_built_from_the_refresh_with_no_upstream_call(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    top = app.leaderboard.board("all").by_metric["score"][0]
    polymarket.reset_calls()
    interaction = await discord_fake.invoke(
        "trader",
        {"trader": "0x" + top.wallet[2:].upper()},  # mixed case is fine
    )
    message = await interaction.wait_response(timeout=15)
    embed = message["embeds"][0]
    assert f"`{top.wallet}`" in embed["description"]
    assert embed["url"] == f"https://polymarket.com/profile/{top.wallet}"
    assert embed["image"]["url"] == "attachment://pnl.png"
    fields = fields_of(message)
    assert "**All** #1 by copy score" in fields["Leaderboard"]
    assert "margin +" in fields["Copy score"] and fields["Copy score"].endswith("**")
    assert "closed" in fields["Win rate"] or fields["Win rate"] == "no closed positions"
    assert fields["Markets traded"].isdigit()
    png_attached(discord_fake, message)
    assert detail_calls(polymarket) == 0  # the leaderboard refresh already stored it


async def test_top_trader_loops_skip_traders_the_leaderboard_refresh_just_fetched(
    app: Application, polymarket: FakePolymarket
) -> None:
    """The refresh stores every fetched trader's positions and daily statistics: the
    trader-positions and trader-daily-stats loops ask again only for the others."""
    top = app.leaderboard.board("week").by_metric["score"]
    assert top
    polymarket.reset_calls()
    assert await app.profiles.refresh_top_details() == 0
    assert detail_calls(polymarket) == 0
    app.leaderboard.stats.expire(top[0].wallet)  # its details are due: the loops fetch them
    assert await app.profiles.sync_top_positions() == 1  # (its first run: fetched since start)
    assert await app.profiles.refresh_top_details() == 1
    assert polymarket.calls["/positions"] == 2 and detail_calls(polymarket) == 4


async def test_trader_by_username_and_autocomplete(
    app: Application, discord_fake: FakeDiscord
) -> None:
    entry = next(e for e in app.leaderboard.board("all").by_metric["pnl"] if e.user_name.isalnum())
    choices = await discord_fake.autocomplete("trader", {"trader": entry.user_name[:3]}, "trader")
    assert entry.wallet in [c["value"] for c in choices]
    interaction = await discord_fake.invoke("trader", {"trader": entry.user_name.lower()})
    message = await interaction.wait_response(timeout=15)
    assert entry.wallet in message["embeds"][0]["description"]


async def test_unknown_wallet_is_built_on_demand_once_for_100_concurrent_lookups(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    stranger = polymarket.make_trader(500)
    polymarket.add_trader(stranger)
    polymarket.reset_calls()
    profiles = await asyncio.gather(*(app.profiles.get(stranger.wallet) for _ in range(100)))
    assert all(p is profiles[0] for p in profiles)
    assert {path: polymarket.calls[path] for path in DETAIL_PATHS} == dict.fromkeys(DETAIL_PATHS, 1)
    interaction = await discord_fake.invoke("trader", {"trader": stranger.wallet})
    message = await interaction.wait_response(timeout=15)
    assert fields_of(message)["Leaderboard"] == "Not on the leaderboard"
    png_attached(discord_fake, message)
    assert detail_calls(polymarket) == 3  # served from the cache


async def test_malformed_and_unknown_trader_inputs_explain_themselves(
    app: Application, discord_fake: FakeDiscord
) -> None:
    bad = await discord_fake.invoke("trader", {"trader": "0x12345"})
    message = await bad.wait_response()
    assert bad.ephemeral and "0x followed by 40 hex characters" in message["content"]
    unknown = await discord_fake.invoke("trader", {"trader": "definitely-nobody"})
    assert "No trader by that name" in (await unknown.wait_response())["content"]


async def test_market_by_slug_shows_outcomes_prices_and_status(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    market = polymarket.add_market(
        "Will the test pass?", prices=(0.62, 0.38), slug="will-the-test-pass"
    )
    interaction = await discord_fake.invoke("market", {"query": "will-the-test-pass"})
    message = await interaction.wait_response(timeout=10)
    embed = message["embeds"][0]
    assert embed["title"] == "Will the test pass?"
    fields = fields_of(message)
    assert "**Yes** 62¢" in fields["Outcomes"] and "**No** 38¢" in fields["Outcomes"]
    assert fields["Status"] == "Open"
    by_id = await discord_fake.invoke("market", {"query": market["conditionId"]})
    assert (await by_id.wait_response(timeout=10))["embeds"][0]["title"] == "Will the test pass?"


async def test_market_by_text_offers_a_menu(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.add_market("Will zebras fly in 2027?", slug="zebras-fly-2027")
    polymarket.add_market("Will zebras swim in 2027?", slug="zebras-swim-2027")
    interaction = await discord_fake.invoke("market", {"query": "zebras"})
    message = await interaction.wait_response(timeout=10)
    menu = message["components"][0]["components"][0]
    labels = [o["label"] for o in menu["options"]]
    assert "Will zebras fly in 2027?" in labels and "Will zebras swim in 2027?" in labels
    pick = await discord_fake.click(
        message, menu["custom_id"], values=[str(labels.index("Will zebras swim in 2027?"))]
    )
    chosen = await pick.wait_response(timeout=10)
    assert chosen["embeds"][0]["title"] == "Will zebras swim in 2027?"


async def test_a_resolved_market_is_not_fetched_again(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    market = polymarket.add_market("Will it be resolved?", slug="will-it-be-resolved")
    polymarket.resolve_market(market["conditionId"], 0)
    first = await discord_fake.invoke("market", {"query": "will-it-be-resolved"})
    assert fields_of(await first.wait_response(timeout=10))["Status"] == "Resolved: **Yes** won"
    polymarket.reset_calls()
    app.markets.forget_markets()  # even without the in-memory cache, PostgreSQL answers
    second = await discord_fake.invoke("market", {"query": "will-it-be-resolved"})
    assert fields_of(await second.wait_response(timeout=10))["Status"] == "Resolved: **Yes** won"
    assert sum(polymarket.calls.values()) == 0


async def test_market_prices_are_served_stale_when_upstream_is_down(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.add_market("Will the lights stay on?", prices=(0.7, 0.3), slug="lights-stay-on")
    first = await discord_fake.invoke("market", {"query": "lights-stay-on"})
    assert "70¢" in fields_of(await first.wait_response(timeout=10))["Outcomes"]
    polymarket.fail_all("500")
    await asyncio.sleep(3)  # past the price TTL
    second = await discord_fake.invoke("market", {"query": "lights-stay-on"})
    fields = fields_of(await second.wait_response(timeout=15))
    assert "70¢" in fields["Outcomes"]
    assert "⚠️ Prices may be stale" in fields
    polymarket.fail_all(None)


async def test_1000_concurrent_price_lookups_make_one_upstream_call(
    app: Application, polymarket: FakePolymarket
) -> None:
    gamma = polymarket.add_market("Will it coalesce?", slug="will-it-coalesce")
    market = await app.markets.by_slug("will-it-coalesce")
    assert market is not None and market.condition_id == gamma["conditionId"]
    polymarket.reset_calls()
    quotes = await asyncio.gather(*(app.prices.quote(market) for _ in range(1000)))
    assert len({q.prices for q in quotes}) == 1 and not quotes[0].stale
    assert sum(polymarket.calls.values()) == 1


async def test_upstream_down_for_an_unknown_wallet_says_try_again(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.fail_all("500")
    interaction = await discord_fake.invoke("trader", {"trader": "0x" + "5" * 40})
    message = await interaction.wait_response(timeout=15)
    assert interaction.ephemeral or message.get("flags", 0) & 64
    assert "Polymarket is not answering right now" in message["content"]
    polymarket.fail_all(None)


@pytest.mark.parametrize("blank", ["", "   ", "\t \u3000"])
async def test_blank_trader_input_is_refused_privately(
    app: Application, discord_fake: FakeDiscord, blank: str
) -> None:
    interaction = await discord_fake.invoke("trader", {"trader": blank})
    message = await interaction.wait_response(timeout=10)
    assert interaction.ephemeral
    assert "Type a trader" in message["content"]
    assert not message.get("embeds")


async def test_blank_trader_input_gets_no_suggestion_to_submit(
    app: Application, discord_fake: FakeDiscord
) -> None:
    assert await discord_fake.autocomplete("trader", {"trader": "  "}, "trader") == []
    assert await discord_fake.autocomplete("trader", {"trader": ""}, "trader") == []


async def test_a_wallet_without_activity_says_so_and_attaches_no_chart(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    nobody = "0x" + "7" * 40
    assert nobody not in polymarket.traders
    interaction = await discord_fake.invoke("trader", {"trader": nobody})
    message = await interaction.wait_response(timeout=15)
    assert interaction.ephemeral or message.get("flags", 0) & 64
    assert "no trades, positions or rankings" in message["content"]
    assert "proxy wallet" in message["content"]
    assert not message.get("embeds") and not message.get("attachments")
