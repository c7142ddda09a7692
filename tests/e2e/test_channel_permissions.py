"""Every command that names a channel (/follow, /unfollow, /whales, /signals) checks the
member's permissions in that channel.

The member here has Manage Channels only in #general (a member overwrite), as a moderator of
one channel would. They must be refused for #alerts and for a channel they cannot see, and
allowed in #general wherever they type the command; threads follow their parent channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import discord
import pytest

from bot.app import Application
from tests.e2e.harness import running_bot, settings_for, wait_until
from tests.fakes.discord import MANAGE_CHANNELS, VIEW_CHANNEL, FakeDiscord
from tests.fakes.polymarket import FakePolymarket

WALLET = "0x" + "ab" * 20


pytestmark = pytest.mark.polymarket(n_traders=6, seed=8)


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    async with running_bot(discord_fake, pool, settings_for(discord_fake, polymarket)) as app:
        yield app


async def moderate_general_only(app: Application, fake: FakeDiscord) -> int:
    """Give the plain member Manage Channels in #general only, hide a new #secret from
    everyone but the bot; returns #secret's id once the bot's cache shows both."""
    await fake.set_channel_permissions(fake.channel_id, fake.user_id, allow=MANAGE_CHANNELS)
    secret = await fake.add_channel("secret")
    await fake.set_channel_permissions(secret, fake.guild_id, deny=VIEW_CHANNEL)
    await fake.set_channel_permissions(secret, fake.bot_user_id, allow=VIEW_CHANNEL)

    def cached() -> bool:
        guild = app.bot.get_guild(fake.guild_id)
        hidden = app.bot.get_channel(secret)
        general = app.bot.get_channel(fake.channel_id)
        if guild is None or hidden is None or general is None:
            return False
        mine = general.overwrites_for(discord.Object(fake.user_id))  # type: ignore[union-attr]
        everyone = hidden.overwrites_for(guild.default_role)  # type: ignore[union-attr]
        return mine.manage_channels is True and everyone.view_channel is False

    await wait_until(cached)
    return secret


COMMANDS: dict[str, dict[str, Any]] = {
    "follow": {"trader": WALLET},
    "unfollow": {"trader": WALLET},
    "whales": {"min_usd": 5000},
    "signals": {"kind": "fresh"},
}
ALLOWED = {
    "follow": "Following",
    "unfollow": "is not followed",  # passed the check; there was nothing to remove
    "whales": "Whale alerts on",
    "signals": "Fresh signals on",
}


async def answer(fake: FakeDiscord, name: str, user_id: int, **where: Any) -> str:
    options = dict(COMMANDS[name])
    channel_id = where.pop("channel_id", None)
    options.update(where)
    interaction = await fake.invoke(name, options, user_id=user_id, channel_id=channel_id)
    message = await interaction.wait_response()
    assert interaction.ephemeral
    return str(message["content"])


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_manage_channels_is_checked_in_the_named_channel(
    app: Application, discord_fake: FakeDiscord, command: str
) -> None:
    fake = discord_fake
    secret = await moderate_general_only(app, fake)
    member = fake.user_id

    # Typed in #general (where they may manage), aimed at #alerts (where they may not).
    refused = await answer(fake, command, member, channel=fake.other_channel_id)
    assert "You need Manage Channels in" in refused and str(fake.other_channel_id) in refused
    # A channel they cannot even see.
    hidden = await answer(fake, command, member, channel=secret)
    assert "View Channel" in hidden and "Manage Channels" in hidden
    # Typed in #alerts, aimed at #general: allowed, the target is what counts.
    allowed = await answer(fake, command, member, channel=fake.channel_id, channel_id=secret)
    assert ALLOWED[command] in allowed, allowed
    # No channel named: the channel where it was typed, checked the same way.
    here = await answer(fake, command, member)
    assert ALLOWED[command] in here or "Stopped alerts" in here, here
    elsewhere = await answer(fake, command, member, channel_id=fake.other_channel_id)
    assert "You need Manage Channels in" in elsewhere
    # An administrator may, even in a channel hidden from @everyone.
    admin = await answer(fake, command, fake.admin_user_id, channel=secret)
    assert ALLOWED[command] in admin or "Stopped alerts" in admin, admin

    if command != "unfollow":  # nothing was set up where the member was refused
        rows = await app.pool.fetch(
            "SELECT channel_id FROM follows UNION ALL SELECT channel_id FROM whale_watches"
            " UNION ALL SELECT channel_id FROM signal_watches"
        )
        # A server has one channel per kind of signal: the administrator's #secret replaced it.
        expected = {secret} if command == "signals" else {fake.channel_id, secret}
        assert {r["channel_id"] for r in rows} == expected


async def test_a_thread_follows_its_parent_channel(
    app: Application, discord_fake: FakeDiscord
) -> None:
    fake = discord_fake
    await moderate_general_only(app, fake)
    in_general = await fake.add_thread(fake.channel_id, "general-thread")
    in_alerts = await fake.add_thread(fake.other_channel_id, "alerts-thread")
    await wait_until(
        lambda: (
            app.bot.get_channel(in_general) is not None
            and app.bot.get_channel(in_alerts) is not None
        )
    )

    refused = await answer(fake, "follow", fake.user_id, channel_id=in_alerts)
    assert "You need Manage Channels in" in refused
    allowed = await answer(fake, "follow", fake.user_id, channel_id=in_general)
    assert "Following" in allowed and f"<#{in_general}>" in allowed
    assert app.follows.follows_of(WALLET)[0].channel_id == in_general
