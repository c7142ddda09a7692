"""Commands while PostgreSQL is down or frozen: the real bot, through a proxy that plays the
outage (tests/fakes/pg_link.py), on a fake Discord that enforces the 3 s deadline.

Every command is acknowledged in time (the strict fake refuses a late first answer, so a reply
at all proves it); /trader and /alerts answer from memory with a note; what needs the
database (/follow, /portfolio, /track-record, /market when Polymarket does not answer either)
says so in one sentence; nothing is wrong once PostgreSQL is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import Application
from bot.render.text import short_wallet
from db.migrate import migrate
from db.pool import create_pool
from tests.e2e.harness import first_refresh_done, running_bot, settings_for
from tests.fakes.discord import FakeDiscord
from tests.fakes.pg_link import PostgresLink
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

STRANGER = "0x" + "5e" * 20


@pytest.fixture
async def strict_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(interaction_timeout=3.0)  # Discord's real deadline for a first answer
    await fake.start()
    yield fake
    await fake.stop()


pytestmark = pytest.mark.polymarket(n_traders=10, seed=77)


@pytest.fixture
async def app(
    strict_discord: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    link: PostgresLink,
) -> AsyncIterator[Application]:
    pool = await create_pool(link.dsn, max_size=5)
    async with pool.acquire() as conn:
        await migrate(conn)
    settings = settings_for(strict_discord, polymarket, rtds.url, leaderboard_refresh_seconds=3600)
    try:
        async with running_bot(strict_discord, pool, settings) as app:
            await first_refresh_done(app, timeout=20)
            await rtds.wait_for_subscribers(1)
            yield app
            link.restore()  # let the workers and the pool finish cleanly
    finally:
        link.restore()
        await asyncio.wait_for(pool.close(), 30)


async def reply(fake: FakeDiscord, name: str, options: dict[str, Any], **kw: Any) -> dict[str, Any]:
    interaction = await fake.invoke(name, options, **kw)
    return await interaction.wait_response(timeout=10)


@pytest.mark.parametrize("outage", ["down", "frozen"])
async def test_commands_answer_from_memory_in_time_while_postgres_is_away(
    app: Application,
    strict_discord: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    link: PostgresLink,
    outage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = strict_discord
    board = app.leaderboard.board("all")
    assert board is not None
    ranked = [e.wallet for e in board.by_metric["pnl"] if e.wallet in app.leaderboard.stats.stats]
    followed, other = ranked[0], ranked[1]
    admin = {"user_id": fake.admin_user_id}
    assert (
        "Following"
        in (
            await reply(
                fake, "follow", {"trader": followed, "channel": fake.other_channel_id}, **admin
            )
        )["content"]
    )
    await app.bus.drain()  # the follow's own work (its positions read) is done
    await reply(fake, "trader", {"trader": followed})
    assert app.profiles.cached(followed) is not None

    # A new trade of the followed trader: the cached profile is marked stale, not dropped.
    await rtds.push(rtds.make_payload(wallet=followed, size=100, price=0.5))
    await fake.wait_for_message(fake.other_channel_id)
    assert app.profiles.cached(followed) is not None

    if outage == "down":
        link.cut()
    else:
        link.freeze()

    alerts = await reply(fake, "alerts", {})
    assert "from memory" in alerts["content"]
    assert f"`{short_wallet(followed)}` → <#{fake.other_channel_id}>" in str(alerts["embeds"][0])
    profile = await reply(fake, "trader", {"trader": followed})
    assert "from memory" in profile["content"] and profile["embeds"]
    uncached = await reply(fake, "trader", {"trader": other})
    assert "from memory" in uncached["content"] and uncached["embeds"]
    stranger = await reply(fake, "trader", {"trader": STRANGER})
    assert "database is not answering" in stranger["content"]
    refused = await reply(fake, "follow", {"trader": other, "channel": fake.channel_id}, **admin)
    assert "database is not answering" in refused["content"]
    portfolio = await reply(fake, "portfolio", {})
    assert "database is not answering" in portfolio["content"]
    leaderboard = await reply(fake, "leaderboard", {"metric": "pnl"})
    assert leaderboard["embeds"][0]["description"]
    record = await reply(fake, "track-record", {})
    assert "database is not answering" in record["content"]
    failures = app.database.failures
    status = await reply(fake, "admin", {}, subcommand="status", **admin)
    assert "PostgreSQL did not answer" in str(status["embeds"][0])
    assert app.database.failures == failures + 1  # through the commands' guard, counted once
    polymarket.fail_all("timeout")  # /market falls back on what PostgreSQL knows: nothing
    try:
        for query in ("never seen words", "https://polymarket.com/event/never-seen"):
            market = await reply(fake, "market", {"query": query})
            assert "try again in a minute" in market["content"], query
    finally:
        polymarket.fail_all(None)

    if outage == "down":  # (frozen, background work waits out asyncpg's own 30-60 s timeouts)
        await fail_background_work_quietly(app, ranked, caplog)

    link.restore()
    back = await reply(fake, "follow", {"trader": other, "channel": fake.channel_id}, **admin)
    assert "Following" in back["content"]
    after = await reply(fake, "alerts", {})
    assert not after["content"] and f"`{short_wallet(other)}`" in str(after["embeds"][0])


async def fail_background_work_quietly(
    app: Application, ranked: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The background work fails too, for every trader: one line per kind of failure per run,
    never a traceback per trader (a 34 s outage once wrote 15,800 lines)."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot"):
        assert await app.profiles.refresh_details(ranked) == 0
        assert not await app.leaderboard_loop.run_once()
        await app.markets_loop.run_once()
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    daily = [line for line in lines if line.startswith("daily statistics")]
    assert len(daily) == 1, lines  # ten traders, one line
    runs = [line.split(":")[0] for line in lines if line.startswith("loop ")]
    assert any(run.startswith("loop leaderboard") for run in runs)
    assert len(runs) == len(set(runs)), lines  # one line per loop run (its count in a row)
    ours = [r for r in caplog.records if r.name.startswith("bot")]
    assert not [r.getMessage() for r in ours if r.exc_info], "a traceback was logged"
    assert f"{len(ranked)} failed (database unavailable)" in daily[0]
