"""/copy start, /copy stop and /portfolio: thin adapters over CopyTradingService."""

from __future__ import annotations

import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.render.numbers import money, plural
from bot.render.portfolio import portfolio_embed
from bot.render.text import display_name, short_wallet
from bot.tree import UserFacingError
from cogs.transformers import Trader

log = logging.getLogger(__name__)

CHART_NAME = "portfolio.png"


@app_commands.guild_only()
class CopyCog(commands.GroupCog, group_name="copy", group_description="Paper copy-trading"):
    def __init__(self, bot: PolymarketBot) -> None:
        self.orders = bot.services.copytrading
        super().__init__()

    @app_commands.command(name="start", description="Copy a trader into your paper portfolio")
    @app_commands.describe(
        trader="Wallet (0x…) or leaderboard username",
        budget_usd="Paper dollars to put behind this trader",
        per_trade_usd="Dollars per copied buy fill (a trade filled in 3 parts copies 3 times)",
    )
    async def start(
        self,
        interaction: discord.Interaction,
        trader: Trader,
        budget_usd: app_commands.Range[float, 1.0, 1e6],
        per_trade_usd: app_commands.Range[float, 1.0, 1e6],
    ) -> None:
        wallet, label = trader.wallet, trader.label
        await self.orders.start_copy(
            interaction.guild_id or 0, interaction.user.id, wallet, budget_usd, per_trade_usd
        )
        await interaction.response.send_message(
            f"Copying {display_name(label, wallet)} (`{short_wallet(wallet)}`) with "
            f"{money(budget_usd, exact=True)} of paper money, {money(per_trade_usd, exact=True)} "
            "per fill: each fill of their buys becomes a paper order of that size (a trade "
            "filled in several parts is copied once per part), and their sells are followed in "
            "proportion. /portfolio shows the orders.",
            ephemeral=True,
        )

    @app_commands.command(name="stop", description="Stop copying a trader (positions stay)")
    @app_commands.describe(trader="The trader you copy")
    async def stop(self, interaction: discord.Interaction, trader: Trader) -> None:
        wallet, label = trader.wallet, trader.label
        result = await self.orders.stop_copy(interaction.guild_id or 0, interaction.user.id, wallet)
        if result is None:
            raise UserFacingError(
                f"You are not copying `{short_wallet(wallet)}`; /portfolio lists who you copy."
            )
        await interaction.response.send_message(
            f"Stopped copying {display_name(label, wallet)}: "
            f"{plural(result.cancelled_orders, 'open order')} cancelled. Positions stay "
            "until the trader sells or the market resolves.",
            ephemeral=True,
        )


class PortfolioCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.orders = bot.services.copytrading
        self.traders = bot.services.traders
        self.charts = bot.services.charts

    @app_commands.command(name="portfolio", description="A paper copy-trading portfolio")
    @app_commands.describe(user="Whose portfolio (default: yours)")
    @app_commands.guild_only()
    async def portfolio(
        self, interaction: discord.Interaction, user: discord.User | None = None
    ) -> None:
        owner = user or interaction.user
        view = await self.orders.portfolio(interaction.guild_id or 0, owner.id)
        if view is None:
            who = "You have" if owner.id == interaction.user.id else f"{owner.display_name} has"
            raise UserFacingError(f"{who} no paper portfolio yet: /copy start a trader to begin.")
        wallets = [c.wallet for c in view.copies] + [row.wallet for row in view.order_rows]
        names = await self.traders.names(wallets)
        chart = await self.charts.portfolio_value(view.history, owner.display_name)
        name = discord.utils.escape_markdown(owner.display_name)
        embed = portfolio_embed(view, name, names=names, chart_name=CHART_NAME if chart else None)
        files = [discord.File(io.BytesIO(chart), filename=CHART_NAME)] if chart else []
        await interaction.response.send_message(
            embed=embed, files=files, allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(CopyCog(bot))
    await bot.add_cog(PortfolioCog(bot))
