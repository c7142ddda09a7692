"""One place that turns command errors into short, ephemeral, actionable replies."""

from __future__ import annotations

import logging
import uuid

import discord
from discord import app_commands

from bot.checks import NotAdmin

log = logging.getLogger(__name__)


class UserFacingError(Exception):
    """An expected problem whose message is safe and useful to show as is."""


async def reply_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer or follow up, whichever the interaction still allows; never raises."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
        else:
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException:
        log.warning("could not deliver an error reply for interaction %s", interaction.id)


class BotTree(app_commands.CommandTree):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, NotAdmin):
            message = (
                "Only server admins (Manage Server or the bot admin role) can use this command."
            )
        elif isinstance(error, app_commands.NoPrivateMessage):
            message = "This command only works inside a server."
        elif isinstance(error, app_commands.MissingPermissions):
            missing = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
            message = f"You need the {missing} permission to use this command."
        elif isinstance(error, app_commands.CheckFailure):
            message = "You are not allowed to use this command here."
        elif isinstance(original, UserFacingError):
            message = str(original)
        else:
            error_id = uuid.uuid4().hex[:8]
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("error %s in /%s", error_id, command, exc_info=original)
            message = (
                f"Something went wrong (error id `{error_id}`). Please try again in a moment; "
                "if it keeps happening, give this id to the bot's operator."
            )
        await reply_ephemeral(interaction, message)
