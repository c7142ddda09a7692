"""/market as a trader uses it: pasted links, a picker that reads like the site, prices with their
implied chance, and an answer within seconds (marked stale) when Polymarket does not answer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.app import Application
from tests.e2e.harness import running_bot, settings_for
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket

STALE_COLOUR = 0xE67E22  # discord.Colour.orange()


pytestmark = pytest.mark.polymarket(n_traders=8, seed=53)


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    # A real client's patience: 10 s per request and retries, as in production.
    settings = settings_for(discord_fake, polymarket, http_timeout_seconds=10.0, http_max_retries=4)
    async with running_bot(discord_fake, pool, settings) as app:
        yield app


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


async def ask(discord_fake: FakeDiscord, query: str) -> dict[str, Any]:
    interaction = await discord_fake.invoke("market", {"query": query})
    return await interaction.wait_response(timeout=15)


@pytest.mark.parametrize(
    "link",
    [
        "https://polymarket.com/market/{slug}",
        "https://polymarket.com/event/{event}/{slug}",
        "https://polymarket.com/event/{event}/{slug}?tid=1712345678901",
        "polymarket.com/event/{event}/{slug}",
        "https://www.polymarket.com/zh/event/{event}/{slug}/",
    ],
)
async def test_a_pasted_market_link_answers_with_that_market(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, link: str
) -> None:
    polymarket.add_market(
        "Will the rover land?", prices=(0.62, 0.38), slug="rover-lands", event_title="Mars 2027"
    )
    polymarket.add_market("Will the rover drive?", slug="rover-drives", event_title="Mars 2027")
    message = await ask(discord_fake, link.format(event="mars-2027", slug="rover-lands"))
    assert message["embeds"][0]["title"] == "Will the rover land?"
    outcomes = fields_of(message)["Outcomes"]
    assert "**Yes** 62¢ · 62% chance" in outcomes and "**No** 38¢ · 38% chance" in outcomes


async def test_an_event_link_of_one_market_answers_with_it(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.add_market("Will it snow in Lisbon?", slug="snow-in-lisbon")
    message = await ask(discord_fake, "https://polymarket.com/event/snow-in-lisbon")
    assert message["embeds"][0]["title"] == "Will it snow in Lisbon?"


async def test_an_event_link_of_several_markets_offers_them_resolved_last(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    done = polymarket.add_market(
        "Will A win?", slug="a-wins", event_title="Who wins?", volume=900_000.0
    )
    polymarket.resolve_market(done["conditionId"], 1)
    polymarket.add_market(
        "Will B win?", prices=(0.25, 0.75), slug="b-wins", event_title="Who wins?", volume=5_000.0
    )
    message = await ask(discord_fake, "https://polymarket.com/event/who-wins")
    options = message["components"][0]["components"][0]["options"]
    assert [o["label"] for o in options] == ["Will B win?", "Will A win?"]  # resolved last
    assert options[0]["description"] == "Yes 25¢ · 25% chance · $5K volume · Open"
    assert options[1]["description"] == "Resolved: No won · $900K volume"


async def test_a_link_to_something_else_says_what_a_market_link_looks_like(
    app: Application, discord_fake: FakeDiscord
) -> None:
    for link in ("https://polymarket.com/profile/0xabc", "https://example.com/event/x"):
        interaction = await discord_fake.invoke("market", {"query": link})
        message = await interaction.wait_response(timeout=10)
        assert interaction.ephemeral or message.get("flags", 0) & 64
        assert "https://polymarket.com/event/" in message["content"]


async def test_no_internal_jargon_in_the_answer(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.add_market("Will the jargon go?", slug="jargon-goes")
    embed = (await ask(discord_fake, "jargon-goes"))["embeds"][0]
    text = str(embed).lower()
    assert "gamma" not in text and "clob" not in text and "via" not in text
    assert embed["footer"]["text"] == "Prices as of" and embed["timestamp"]


async def test_when_polymarket_hangs_the_answer_comes_in_seconds_marked_stale(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.add_market("Will the cable hold?", prices=(0.7, 0.3), slug="cable-holds")
    first = await ask(discord_fake, "https://polymarket.com/event/cable-holds")
    assert "70¢" in fields_of(first)["Outcomes"]
    assert first["embeds"][0]["color"] != STALE_COLOUR
    polymarket.fail_all("timeout")  # every request hangs far past any client timeout
    try:
        for query in ("https://polymarket.com/event/cable-holds", "cable hold"):
            app.prices.forget_prices()
            app.markets.forget_markets()
            started = time.perf_counter()
            message = await ask(discord_fake, query)
            elapsed = time.perf_counter() - started
            # Generous: the bot waits 2.5 s at most; a request times out only after 10 s.
            assert elapsed < 6.0, elapsed
            fields = fields_of(message)
            assert "70¢" in fields["Outcomes"], query
            assert "⚠️ Prices may be stale" in fields
            assert message["embeds"][0]["color"] == STALE_COLOUR
    finally:
        polymarket.fail_all(None)


async def test_a_market_never_seen_while_polymarket_hangs_says_try_again(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.fail_all("timeout")
    try:
        started = time.perf_counter()
        interaction = await discord_fake.invoke("market", {"query": "never-seen-market"})
        message = await interaction.wait_response(timeout=15)
        assert time.perf_counter() - started < 6.0
        assert interaction.ephemeral or message.get("flags", 0) & 64
        assert "try again in a minute" in message["content"]
    finally:
        polymarket.fail_all(None)
