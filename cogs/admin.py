"""/admin refresh and /admin status: hidden from non-admins and refused to them at run time."""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import RefreshQueued, RefreshTarget
from bot.checks import admin_only
from bot.client import PolymarketBot
from bot.render.numbers import duration, integer, plural
from bot.render.status import status_embed

log = logging.getLogger(__name__)

Target = Literal["leaderboard", "traders", "markets", "all"]  # RefreshTarget's values


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(commands.GroupCog, group_name="admin", group_description="Bot administration"):
    def __init__(self, bot: PolymarketBot) -> None:
        self.admin = bot.services.admin
        super().__init__()

    @app_commands.command(name="refresh", description="Refresh cached Polymarket data now")
    @app_commands.describe(target="What to refresh (default: leaderboard)")
    @admin_only()
    async def refresh(
        self, interaction: discord.Interaction, target: Target = "leaderboard"
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            outcome = await self.admin.refresh(RefreshTarget(target))
        except RefreshQueued:
            await interaction.followup.send(
                "The refresh is queued: the leader process will run it shortly. "
                "Check /leaderboard in a minute.",
                ephemeral=True,
            )
            return
        except Exception as exc:
            log.warning("admin refresh failed: %s", exc)
            await interaction.followup.send(
                "The refresh failed and the previous leaderboard is still served; see "
                "/admin status for the error and try again later.",
                ephemeral=True,
            )
            return
        report = outcome.report
        note = " (joined the refresh that was already running)" if outcome.joined else ""
        failed = (
            " Failed periods: " + ", ".join(report.periods_failed) + "."
            if report.periods_failed
            else ""
        )
        extra = ""
        if outcome.markets_outcome is not None:
            extra = f" Markets loop: {outcome.markets_outcome}."
        if outcome.positions_outcome is not None:
            extra += (
                f" Trader details re-fetched: {integer(report.details_fetched)}; positions sync: "
                f"{outcome.positions_outcome}."
            )
        await interaction.followup.send(
            f"Leaderboard refreshed in {duration(report.duration)}{note}: "
            f"{plural(report.trader_count, 'trader')} ranked across "
            f"{plural(len(report.periods_ok), 'period')} (waited {duration(outcome.waited)})."
            f"{failed}{extra}",
            ephemeral=True,
        )

    @app_commands.command(name="status", description="Background loops, cache and upstream calls")
    @admin_only()
    async def status(self, interaction: discord.Interaction) -> None:
        embed = status_embed(await self.admin.status())
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(AdminCog(bot))
