"""One place that turns command errors into short, ephemeral, actionable replies."""

from __future__ import annotations

import logging
import uuid

import discord
from discord import app_commands

from bot.checks import NotAdmin
from bot.errors import UserError
from bot.polymarket.http import UpstreamError

log = logging.getLogger(__name__)


class UserFacingError(UserError):
    """A cog's own expected problem (the services raise their own UserError subclasses)."""


PUBLIC_DEFER = "public_defer"  # Interaction.extras flag set by commands that defer publicly


async def reply_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer or follow up, whichever the interaction still allows; never raises.

    After a public "thinking…" defer the first follow-up would replace the public placeholder,
    so the placeholder is deleted first and the error goes out as an ephemeral follow-up.
    """
    try:
        if interaction.extras.pop(PUBLIC_DEFER, False):
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                log.debug("could not delete the public placeholder")
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
        if isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
            original = error.__cause__  # an argument transformer's own error (e.g. a bad trader)
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
        elif isinstance(original, UserError):
            message = str(original)
        elif isinstance(original, UpstreamError):
            log.warning("upstream failure in a command: %s", original)
            message = "Polymarket is not answering right now; please try again in a minute."
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            await report_unexpected(interaction, original, f"/{command}")
            return
        await reply_ephemeral(interaction, message)


async def report_unexpected(
    interaction: discord.Interaction, error: BaseException, where: str
) -> None:
    """Log an unexpected error under a short id and show the user that id."""
    error_id = uuid.uuid4().hex[:8]
    log.error("error %s in %s", error_id, where, exc_info=error)
    await reply_ephemeral(
        interaction,
        f"Something went wrong (error id `{error_id}`): try again in a moment, and if it "
        "keeps happening give this id to the bot's operator.",
    )
