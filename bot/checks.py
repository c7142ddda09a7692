"""Who may run admin commands: Manage Server, a role in ``BOT_ADMIN_ROLE_IDS``, or an id in
``BOT_OWNER_IDS`` (the README's "Commands" section says the same to users)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

import discord
from discord import app_commands

from bot.config import Settings

T = TypeVar("T")


class NotAdmin(app_commands.CheckFailure):
    """Raised at run time for non-admins; the tree turns it into a one-sentence reply."""


def is_admin(
    interaction: discord.Interaction, admin_role_ids: Collection[int], owner_ids: Collection[int]
) -> bool:
    """Permissions as Discord resolved them for this interaction (not the role cache)."""
    if interaction.user.id in owner_ids:
        return True
    if interaction.guild is None:
        return False
    permissions = interaction.permissions
    if permissions.administrator or permissions.manage_guild:
        return True
    roles = getattr(interaction.user, "roles", [])
    return any(role.id in admin_role_ids for role in roles)


def admin_only() -> Callable[[T], T]:
    """Checked on every call: hiding the command (default permissions) is not enough."""

    async def predicate(interaction: discord.Interaction) -> bool:
        settings: Settings = interaction.client.settings  # type: ignore[attr-defined]
        if is_admin(interaction, settings.admin_role_ids, settings.owner_ids):
            return True
        raise NotAdmin("admin only")

    return app_commands.check(predicate)
