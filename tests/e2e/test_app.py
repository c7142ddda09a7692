"""bot/app.py: what start-up reads from PostgreSQL before the bot answers, and what a later
election reads again."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import asyncpg

from bot.app import Application, open_application
from tests.e2e.harness import settings_for
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket


def count_loads(app: Application) -> Counter[str]:
    """Wrap the reads a new leader makes of what others may have changed; count each."""
    calls: Counter[str] = Counter()

    def counted(name: str, load: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def wrapper() -> None:
            calls[name] += 1
            await load()

        return wrapper

    app.follows.load = counted("follows", app.follows.load)  # type: ignore[method-assign]
    app.copytrading.load = counted("copies", app.copytrading.load)  # type: ignore[method-assign]
    stats = app.trader_stats
    stats.load = counted("trader stats", stats.load)  # type: ignore[method-assign,assignment]
    return calls


async def test_a_process_that_leads_from_the_start_reads_trader_stats_once(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> None:
    discord_fake.install()
    settings = settings_for(discord_fake, polymarket)
    async with open_application(settings, pool=pool) as app:
        calls = count_loads(app)
        await app.start(discord_fake.token)
        assert app.cluster.is_leader()
        # follows and copies again after the bridge listens (see Application._become_leader)
        assert calls == {"follows": 2, "copies": 2, "trader stats": 1}

        # Leading again later (deposed, then re-elected): what changed meanwhile is read again.
        await app.cluster.election.stop()
        await app.cluster.election.start()
        assert app.cluster.is_leader()
        assert calls == {"follows": 3, "copies": 3, "trader stats": 2}


async def test_a_second_close_returns_only_once_the_first_has_finished(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> None:
    """``python -m bot``: the stop signal's close runs while ``open_application`` ends and
    closes too; that second close must not return (and let the pool and session close, and
    the event loop end) while the first is still stopping things."""
    settings = settings_for(discord_fake, polymarket)
    async with open_application(settings, pool=pool) as app:
        entered, release = asyncio.Event(), asyncio.Event()
        close_cache = app.cache.close

        async def slow_cache_close() -> None:
            entered.set()
            await release.wait()
            await close_cache()

        app.cache.close = slow_cache_close  # type: ignore[method-assign]
        first = asyncio.create_task(app.close())
        await entered.wait()
        second = asyncio.create_task(app.close())
        await asyncio.sleep(0.05)
        assert not second.done()
        release.set()
        await second
        assert first.done()
        await first


async def test_a_follow_made_here_updates_memory_without_reloading_every_follow(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> None:
    """The follow index is updated where the follow is made; only other processes re-read it
    (their reload runs for events delivered over LISTEN/NOTIFY, never for this one's own)."""
    discord_fake.install()
    settings = settings_for(discord_fake, polymarket)
    async with open_application(settings, pool=pool) as app:
        await app.start(discord_fake.token)
        reloads = app.cluster.cache_sync.follows.runs
        wallet = "0x" + "ab" * 20
        await app.follows.follow(
            guild_id=discord_fake.guild_id,
            channel_id=discord_fake.channel_id,
            wallet=wallet,
            label="",
            min_usd=0.0,
            side="both",
            user_id=discord_fake.admin_user_id,
        )
        await app.bus.drain()
        await asyncio.sleep(0.3)  # a reload would have been requested by now
        assert app.cluster.cache_sync.follows.runs == reloads
        assert wallet in app.follows.followed_wallets()
