"""Valid JSON of the wrong shape never replaces good data: the real bot on the fake Polymarket.

``[]``, ``[[…]]`` and all-null rows from ``/v1/leaderboard`` are a failed refresh (the board is
kept, shown as stale, and PostgreSQL's latest board is still the good one); empty detail pages
for a trader with history keep the stored profile; a market lookup answered with junk is a
failed lookup, not "no such market".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.app import Application
from bot.leaderboard.models import OVERALL
from bot.leaderboard.service import LeaderboardRefreshError
from db import leaderboard_queries
from tests.e2e.harness import first_refresh_done, running_bot, settings_for
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import SHAPE_FAULTS, FakePolymarket

pytestmark = pytest.mark.polymarket(n_traders=12, seed=44)


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    settings = settings_for(discord_fake, polymarket, leaderboard_refresh_seconds=3600)
    async with running_bot(discord_fake, pool, settings) as app:
        await first_refresh_done(app, timeout=20)
        yield app


def wallets(app: Application, period: str) -> list[str]:
    board = app.leaderboard.board(period)
    assert board is not None
    return [entry.wallet for entry in board.by_metric["pnl"]]


@pytest.mark.parametrize("kind", sorted(SHAPE_FAULTS))
async def test_a_wrong_shaped_leaderboard_keeps_the_board_and_says_it_is_stale(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, kind: str
) -> None:
    before = {period: wallets(app, period) for period in ("day", "week", "month", "all")}
    assert all(before.values())
    polymarket.fail_all(kind)
    with pytest.raises(LeaderboardRefreshError):
        await app.leaderboard.refresh()
    assert {period: wallets(app, period) for period in before} == before
    assert app.leaderboard.freshness("week").stale
    async with app.pool.acquire() as conn:
        stored = await leaderboard_queries.load_latest_boards(conn)
    assert [e.wallet for e in stored[(OVERALL, "week")].by_metric["pnl"]] == before["week"]

    interaction = await discord_fake.invoke("leaderboard", {"period": "week", "metric": "pnl"})
    description = (await interaction.wait_response(timeout=10))["embeds"][0]["description"]
    assert "Data may be stale" in description
    assert before["week"][0] in description

    polymarket.clear_faults()
    await app.leaderboard.refresh()
    assert not app.leaderboard.freshness("week").stale


async def test_empty_detail_pages_never_replace_a_real_profile(
    app: Application, polymarket: FakePolymarket
) -> None:
    wallet = next(w for w in wallets(app, "all") if app.leaderboard.stats.stats.get(w))
    async with app.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT markets_traded, stats FROM traders WHERE wallet=$1", wallet
        )
    assert stored["markets_traded"] > 0
    known = app.leaderboard.stats.stats[wallet]
    for path in ("/positions", "/closed-positions", "/activity"):
        polymarket.inject(path, "empty_array", count=10)
    assert await app.profiles.refresh_details([wallet]) == 0
    app.leaderboard.stats.expire(wallet)
    await app.leaderboard.stats.refresh([wallet])
    async with app.pool.acquire() as conn:
        after = await conn.fetchrow(
            "SELECT markets_traded, stats FROM traders WHERE wallet=$1", wallet
        )
    assert after == stored
    assert app.leaderboard.stats.stats[wallet] == known


async def test_a_junk_market_answer_is_a_failed_lookup_not_a_missing_market(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    polymarket.add_market("Will shapes hold?", slug="will-shapes-hold")
    polymarket.inject("/markets/slug", "null_rows")
    failed = await discord_fake.invoke("market", {"query": "will-shapes-hold"})
    assert "not answering" in (await failed.wait_response(timeout=10))["content"]
    found = await discord_fake.invoke("market", {"query": "will-shapes-hold"})
    assert (await found.wait_response(timeout=10))["embeds"][0]["title"] == "Will shapes hold?"
