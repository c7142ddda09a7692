"""The channel a command acts on: who may point the bot at it, and whether the bot can post.

A command that names a channel (``/follow``, ``/unfollow``, ``/whales``, ``/signals``) acts in
that channel, not in the one where it was typed, so the member's permissions are checked there:
Manage Channels where the command was typed says nothing about a channel they may not even see.
Those commands therefore carry no ``has_permissions`` check (it reads the channel where the
command was typed); ``target_channel`` is their check.

Two sources answer "what may this member do in that channel?", and both must agree:

* Discord's own answer, sent with the interaction: ``interaction.permissions`` for the channel
  where the command was typed, and the ``permissions`` of the named channel in the payload's
  resolved data (computed for the invoking member, overwrites included).
* discord.py's resolution from its cache (``permissions_for``: owner, Administrator, roles, then
  the channel's overwrites for @everyone, the roles and the member; a thread asks its parent).

Discord's answer is always fresh; the cache answer also applies the implicit rules Discord's
resolved value leaves out (no View Channel means no other channel permission). Refusing when
either says no costs nothing but a stale cache for a few milliseconds.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.tree import UserFacingError

MEMBER_NEEDS = ("view_channel", "manage_channels")
BOT_NEEDS = ("view_channel", "send_messages", "embed_links")
BOT_NEEDS_IN_THREAD = ("view_channel", "send_messages_in_threads", "embed_links")
AlertChannel = discord.TextChannel | discord.Thread


def _names(permissions: list[str]) -> str:
    return ", ".join(p.replace("_", " ").title() for p in permissions)


def _missing(permissions: discord.Permissions, needed: tuple[str, ...]) -> list[str]:
    return [name for name in needed if not getattr(permissions, name)]


def _discord_permissions(
    interaction: discord.Interaction, channel_id: int
) -> discord.Permissions | None:
    """What Discord computed for the invoking member in ``channel_id``, if the payload says."""
    if channel_id == interaction.channel_id:
        return interaction.permissions
    data: Any = interaction.data or {}
    resolved = (data.get("resolved") or {}).get("channels") or {}
    raw = (resolved.get(str(channel_id)) or {}).get("permissions")
    return None if raw is None else discord.Permissions(int(raw))


def _cached_permissions(
    channel: AlertChannel, member: discord.Member
) -> discord.Permissions | None:
    """discord.py's resolution from its cache; None when a thread's parent is not cached."""
    try:
        return channel.permissions_for(member)
    except discord.ClientException:
        return None


def target_channel(
    interaction: discord.Interaction, channel: discord.abc.GuildChannel | None
) -> AlertChannel:
    """The named channel (or the current one, a thread included) if the invoking member may
    manage alerts there: they must see it and have Manage Channels in it."""
    guild = interaction.guild
    member = interaction.user
    if guild is None or not isinstance(member, discord.Member):
        raise UserFacingError("This command only works inside a server.")
    channel_id = channel.id if channel is not None else interaction.channel_id or 0
    found: object = guild.get_channel_or_thread(channel_id)
    if found is None and channel is None:
        found = interaction.channel  # a thread discord.py has not cached: built from the payload
    if not isinstance(found, discord.TextChannel | discord.Thread):
        raise UserFacingError("Pick a text channel of this server for the alerts.")
    answers = [_discord_permissions(interaction, found.id), _cached_permissions(found, member)]
    known = [answer for answer in answers if answer is not None]
    if not known:
        raise UserFacingError("I can't tell your permissions there yet; try again in a minute.")
    missing: list[str] = []
    for answer in known:
        missing += [name for name in _missing(answer, MEMBER_NEEDS) if name not in missing]
    if missing:
        raise UserFacingError(
            f"You need {_names(missing)} in {found.mention} to set up alerts there."
        )
    return found


def ensure_bot_can_post(channel: AlertChannel) -> None:
    """The bot must see the channel and post embeds there, or every alert would fail."""
    needed = BOT_NEEDS_IN_THREAD if isinstance(channel, discord.Thread) else BOT_NEEDS
    try:
        granted = channel.permissions_for(channel.guild.me)
    except discord.ClientException:
        return  # a thread whose parent is not cached: the first send will tell
    missing = _missing(granted, needed)
    if missing:
        raise UserFacingError(
            f"I can't post alerts in {channel.mention}: give me {_names(missing)} there, "
            "then try again."
        )
