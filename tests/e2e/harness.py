"""Runs the real bot in-process against the local fake Discord and fake Polymarket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import discord

from bot.app import Application, open_application
from bot.config import Settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS


def settings_for(
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds_url: str = "ws://127.0.0.1:9",
    **overrides: Any,
) -> Settings:
    """Settings pointing every upstream at the fakes (port 9 refuses: no stream unless given)."""
    base = Settings(
        rtds_url=rtds_url,
        stream_ping_seconds=0.2,
        stream_silence_seconds=2.0,
        discord_token=discord_fake.token,
        guild_ids=(discord_fake.guild_id,),
        data_api_url=polymarket.base_url,
        gamma_api_url=polymarket.base_url,
        clob_api_url=polymarket.base_url,
        discord_api_base=discord_fake.api_base,
        discord_gateway_url=discord_fake.gateway_url,
        leaderboard_candidates=60,
        http_timeout_seconds=1.0,
        http_max_retries=1,
        http_rate_scale=20.0,  # the fakes have no limits; the limiter has its own tests
    )
    return replace(base, **overrides)


@contextlib.asynccontextmanager
async def running_bot(
    discord_fake: FakeDiscord, pool: asyncpg.Pool, settings: Settings
) -> AsyncIterator[Application]:
    """The application as ``python -m bot`` builds it: started, connected, READY seen by the
    fake; closed on exit."""
    discord_fake.install()
    async with open_application(settings, pool=pool) as app:
        await app.start(discord_fake.token)
        task = asyncio.create_task(app.bot.connect(reconnect=False))
        try:
            # setup_hook ran inside login(); the gateway is up once the fake sent GUILD_CREATE.
            # (bot.wait_until_ready would add discord.py's 2 s guild_ready_timeout per test.)
            await discord_fake.wait_ready()
            yield app
        finally:
            await app.close()
            with contextlib.suppress(asyncio.CancelledError, discord.DiscordException):
                await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def streaming_bot(
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    pool: asyncpg.Pool,
    **overrides: Any,
) -> AsyncIterator[Application]:
    """``running_bot`` on the fakes with its trade stream subscribed to ``rtds``."""
    settings = settings_for(discord_fake, polymarket, rtds.url, **overrides)
    async with running_bot(discord_fake, pool, settings) as app:
        await rtds.wait_for_subscribers(1)
        yield app


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll a condition the bot reaches in the background (a refresh, a loop run)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def first_refresh_done(app: Application, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Until the first leaderboard refresh has finished (not just published its boards), so
    nothing a test reads changes under it."""
    await wait_until(
        lambda: app.leaderboard.last_report is not None and not app.leaderboard.refreshing, timeout
    )
