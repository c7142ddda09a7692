"""The channel a command acts on: who may point the bot at it, and whether the bot can post.

A command that names a channel (``/follow``, ``/unfollow``, ``/whales``, ``/signals``) acts in
that channel, not in the one where it was typed, so the member's permissions are checked there:
Manage Channels where the command was typed says nothing about a channel they may not even see.
"""

from __future__ import annotations

import discord

from bot.tree import UserFacingError

BOT_NEEDS = ("view_channel", "send_messages", "embed_links")


def _names(permissions: list[str]) -> str:
    return ", ".join(p.replace("_", " ").title() for p in permissions)


def target_channel(
    interaction: discord.Interaction, channel: discord.abc.GuildChannel | None
) -> discord.TextChannel | discord.Thread:
    """The named channel (or the current one) if the invoking member may manage alerts there:
    they must see it and have Manage Channels in it."""
    guild = interaction.guild
    if guild is None:
        raise UserFacingError("This command only works inside a server.")
    channel_id = channel.id if channel is not None else interaction.channel_id or 0
    found = guild.get_channel_or_thread(channel_id)
    if not isinstance(found, discord.TextChannel | discord.Thread):
        raise UserFacingError("Pick a text channel of this server for the alerts.")
    member = interaction.user
    if not isinstance(member, discord.Member):
        raise UserFacingError("This command only works inside a server.")
    allowed = found.permissions_for(member)
    missing = [p for p in ("view_channel", "manage_channels") if not getattr(allowed, p)]
    if missing:
        raise UserFacingError(
            f"You need {_names(missing)} in {found.mention} to set up alerts there."
        )
    return found


def ensure_bot_can_post(channel: discord.TextChannel | discord.Thread) -> None:
    """The bot must see the channel and post embeds there, or every alert would fail."""
    me = channel.guild.me
    missing = [p for p in BOT_NEEDS if not getattr(channel.permissions_for(me), p)]
    if missing:
        raise UserFacingError(
            f"I can't post alerts in {channel.mention}: give me {_names(missing)} there, "
            "then try again."
        )
