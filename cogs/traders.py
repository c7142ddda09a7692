"""/trader: a thin adapter over ProfileService and the chart renderer."""

from __future__ import annotations

import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.render.trader import trader_embed
from bot.tree import PUBLIC_DEFER, UserFacingError
from cogs.transformers import Trader

log = logging.getLogger(__name__)

CHART_NAME = "pnl.png"
FROM_MEMORY = (
    "⚠️ The bot's database is not answering: this profile comes from memory and may be out of date."
)


class TradersCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.profiles = bot.services.profiles
        self.charts = bot.services.charts

    @app_commands.command(name="trader", description="A trader's profile, positions and PnL chart")
    @app_commands.describe(trader="Wallet (0x…) or username")
    async def trader(self, interaction: discord.Interaction, trader: Trader) -> None:
        wallet = trader.wallet
        if self.profiles.cached(wallet) is None:  # a first lookup may need PostgreSQL/upstream
            await interaction.response.defer(thinking=True)
            interaction.extras[PUBLIC_DEFER] = True
        profile = await self.profiles.get(wallet)  # cached: at once (stale ones refresh behind)
        if not profile.has_activity:
            raise UserFacingError(
                f"Polymarket shows no trades, positions or rankings for `{wallet}`. Polymarket "
                "trades from a proxy wallet, not the address people sign in with: open their "
                "profile on polymarket.com and copy the wallet shown there."
            )
        chart = await self.charts.trader_pnl(profile)
        embed = trader_embed(profile, chart_name=CHART_NAME if chart else None)
        files = [discord.File(io.BytesIO(chart), filename=CHART_NAME)] if chart else []
        note = FROM_MEMORY if self.profiles.from_memory else None
        if interaction.response.is_done():
            await interaction.edit_original_response(content=note, embed=embed, attachments=files)
        else:
            await interaction.response.send_message(note, embed=embed, files=files)


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(TradersCog(bot))
