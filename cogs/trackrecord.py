"""/track-record: a thin adapter over TrackRecordService."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.render.trackrecord import track_record_embed

Kind = Literal["all", "follows", "whales", "fresh", "smart", "consensus"]
Period = Literal["week", "month", "all"]


@app_commands.guild_only()
class TrackRecordCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.service = bot.services.track_record

    @app_commands.command(
        name="track-record", description="How this server's alerts did if copied at the alert price"
    )
    @app_commands.describe(
        kind="Which alerts (default: all)", period="Alerts sent in the last week, month or ever"
    )
    async def track_record(
        self, interaction: discord.Interaction, kind: Kind = "all", period: Period = "month"
    ) -> None:
        summary = await self.service.summary(interaction.guild_id or 0, kind, period)
        await interaction.response.send_message(embed=track_record_embed(summary, kind, period))


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(TrackRecordCog(bot))
