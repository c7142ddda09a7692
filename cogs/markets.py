"""/market: a thin adapter over MarketService and PriceService."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.polymarket.records import Market
from bot.render.market import market_embed, option_description, option_label
from bot.tree import PUBLIC_DEFER, UserFacingError, report_unexpected

log = logging.getLogger(__name__)

SELECT_TIMEOUT = 180.0
QUOTE_WAIT = 1.0  # with the lookup's own wait, a /market answer comes within 3 s


class MarketSelect(discord.ui.Select["MarketPicker"]):
    def __init__(self, markets: list[Market]) -> None:
        options = [
            discord.SelectOption(
                label=option_label(m), value=str(i), description=option_description(m)
            )
            for i, m in enumerate(markets[:25])
        ]
        super().__init__(placeholder="Several markets match: pick one", options=options)
        self.markets = markets

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        market = self.markets[int(self.values[0])]
        await interaction.response.defer()  # a price lookup may take longer than Discord waits
        quote = await self.view.cog.prices.quote(market, wait=QUOTE_WAIT)
        await interaction.edit_original_response(
            content=None, embed=market_embed(market, quote), view=None
        )


class MarketPicker(discord.ui.View):
    def __init__(self, cog: MarketsCog, owner_id: int, markets: list[Market]) -> None:
        super().__init__(timeout=SELECT_TIMEOUT)
        self.cog = cog
        self.owner_id = owner_id
        self.add_item(MarketSelect(markets))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who ran /market can pick; run the command yourself.", ephemeral=True
        )
        return False

    async def on_error(
        self,
        interaction: discord.Interaction,
        error: Exception,
        item: discord.ui.Item[MarketPicker],
    ) -> None:
        await report_unexpected(interaction, error, "the /market menu")


class MarketsCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.markets = bot.services.markets
        self.prices = bot.services.prices

    @app_commands.command(name="market", description="A market's outcomes and current prices")
    @app_commands.describe(query="A Polymarket link, a slug, a condition id (0x…) or a few words")
    async def market(self, interaction: discord.Interaction, query: str) -> None:
        await interaction.response.defer(thinking=True)
        interaction.extras[PUBLIC_DEFER] = True
        found = await self.markets.find(query)
        if not found:
            raise UserFacingError(
                "No market matches that; paste its link from Polymarket or try other words."
            )
        if len(found) == 1:
            quote = await self.prices.quote(found[0], wait=QUOTE_WAIT)
            await interaction.edit_original_response(embed=market_embed(found[0], quote))
            return
        picker = MarketPicker(self, interaction.user.id, found)
        await interaction.edit_original_response(
            content=f"{len(found)} markets match; pick one:", view=picker
        )


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(MarketsCog(bot))
