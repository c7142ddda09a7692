"""bot/app.py: what start-up reads from PostgreSQL before the bot answers, that a change
another process announces meanwhile is not lost, and what a later election reads again."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from bot.app import Application, open_application
from bot.cluster.bridge import EventBridge
from bot.cluster.connections import connector
from bot.events import EventBus
from bot.signals.labels import LabelService
from bot.trades.follows import FollowService
from db import cluster_queries
from tests.e2e.harness import settings_for, wait_until
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.integration.cluster.helpers import backend_pids


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
        assert calls == {"follows": 1, "copies": 1, "trader stats": 1}

        # Leading again later (deposed, then re-elected): what changed meanwhile is read again.
        await app.cluster.election.stop()
        await app.cluster.election.start()
        assert app.cluster.is_leader()
        assert calls == {"follows": 2, "copies": 2, "trader stats": 2}


async def follow_all_trades(follows: FollowService, discord_fake: FakeDiscord, wallet: str) -> None:
    """An admin's /follow of ``wallet`` in the fake guild's channel, every trade."""
    await follows.follow(
        guild_id=discord_fake.guild_id,
        channel_id=discord_fake.channel_id,
        wallet=wallet,
        label="",
        min_usd=0.0,
        side="both",
        user_id=discord_fake.admin_user_id,
    )


@contextlib.asynccontextmanager
async def another_process(
    database_url: str, pool: asyncpg.Pool
) -> AsyncIterator[tuple[FollowService, LabelService]]:
    """The follow and label services of another process of the bot, with its event bridge."""
    bus = EventBus()

    async def no_resync() -> None:
        pass

    bridge = EventBridge(connector(database_url), pool, bus, "another", on_resync=no_resync)
    await bridge.start()
    try:
        yield FollowService(pool, bus), LabelService(pool, bus)
    finally:
        await bridge.stop()
        await bus.close()


async def test_a_change_another_process_announces_while_the_caches_warm_is_not_lost(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, database_url: str, pool: asyncpg.Pool
) -> None:
    """A follower starting up: another process adds a follow and a label after warm has read
    them. The events announcing them are heard (the bridge listens before warm), held until
    warm is over (a reload racing warm's own read could leave the older state), then applied."""
    discord_fake.install()
    guild, wallet = discord_fake.guild_id, "0x" + "cd" * 20
    leader = await asyncpg.connect(database_url)
    assert await cluster_queries.try_lock(leader)  # another process leads: this one follows
    try:
        async with (
            another_process(database_url, pool) as (follows, labels),
            open_application(settings_for(discord_fake, polymarket), dsn=database_url) as app,
        ):
            load_labels, changed = app.labels.load, False

            async def load_labels_then_changes_elsewhere() -> None:
                nonlocal changed
                await load_labels()  # the last read of warm
                if changed:
                    return
                changed = True
                await follow_all_trades(follows, discord_fake, wallet)
                await labels.set(guild, wallet, "whale", discord_fake.admin_user_id)
                bridge = app.cluster.bridge
                assert bridge is not None
                await wait_until(lambda: bridge.stats.received == 3)
                assert app.bus.received == {}  # heard, and held while warm runs

            app.labels.load = load_labels_then_changes_elsewhere  # type: ignore[method-assign]
            follows_reload = app.cluster.cache_sync.follows
            load_follows = follows_reload._load

            async def slow_reload_of_follows() -> object:
                await asyncio.sleep(0.5)  # longer than the rest of start-up takes
                return await load_follows()

            follows_reload._load = slow_reload_of_follows
            await app.start(discord_fake.token)
            assert not app.cluster.is_leader()
            assert app.bus.received == {"FollowAdded": 1, "FollowsChanged": 1, "LabelsChanged": 1}
            # in memory when start returns: had this process led, its first trade would see them
            assert wallet in app.follows.followed_wallets()
            assert app.labels.label(guild, wallet) == "whale"
    finally:
        await leader.close()


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
        await follow_all_trades(app.follows, discord_fake, wallet)
        await app.bus.drain()
        await asyncio.sleep(0.3)  # a reload would have been requested by now
        assert app.cluster.cache_sync.follows.runs == reloads
        assert wallet in app.follows.followed_wallets()


async def test_a_start_that_fails_after_listening_leaves_no_listen_connection(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, database_url: str, pool: asyncpg.Pool
) -> None:
    """The bridge listens before warm, outside the worker registry: a warm that fails must
    not leave its connection open once the application is closed."""
    settings = settings_for(discord_fake, polymarket)
    async with open_application(settings, dsn=database_url, pool=pool) as app:

        async def broken() -> None:
            raise RuntimeError("PostgreSQL went away mid-warm")

        app.labels.load = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            await app.start(discord_fake.token)
        assert await backend_pids(database_url, "polymarket-bot events") != []
    assert await backend_pids(database_url, "polymarket-bot events") == []
