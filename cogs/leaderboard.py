"""/leaderboard: a thin adapter over LeaderboardService."""

from __future__ import annotations

import logging
import time
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.leaderboard.service import LeaderboardService
from bot.render.leaderboard import leaderboard_embed
from bot.render.numbers import plural
from bot.tree import PUBLIC_DEFER, UserFacingError, report_unexpected
from cogs.transformers import Category

log = logging.getLogger(__name__)

VIEW_TIMEOUT = 180.0
FIRST_LOAD_TIMEOUT = 60.0  # the first boards are published before trader details are fetched

Period = Literal["day", "week", "month", "all"]
Metric = Literal["pnl", "volume", "score"]
# The overall board, then Polymarket's categories from their one list (bot/polymarket/records.py).
BoardCategory = Literal["overall", Category]


class LeaderboardView(discord.ui.View):
    """◀ ▶ paging that only the invoker can press; disabled when it times out."""

    def __init__(
        self,
        service: LeaderboardService,
        owner_id: int,
        period: str,
        metric: str,
        page: int,
        category: str = "overall",
    ) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.service = service
        self.owner_id = owner_id
        self.period = period
        self.metric = metric
        self.page = page
        self.category = category
        self.interaction: discord.Interaction | None = None  # to disable buttons on timeout
        self._sync_buttons(total_pages=1)

    def _sync_buttons(self, total_pages: int) -> None:
        self.previous.disabled = self.page <= 1
        self.next.disabled = self.page >= total_pages

    def render(self) -> discord.Embed | None:
        page = self.service.page(self.period, self.metric, self.page, self.category)
        if page is None:
            return None
        note = None
        if self.metric == "score" and not page.entries and page.pending:
            # a first start: nobody has a copy score yet, but the PnL ranking is complete
            by_pnl = self.service.page(self.period, "pnl", self.page, self.category)
            if by_pnl is not None and by_pnl.entries:
                traders = plural(page.pending, "trader")
                note = f"⏳ Copy scores are still loading ({traders} to go): ranked by PnL for now."
                page = by_pnl
        self.page = page.page
        self._sync_buttons(page.total_pages)
        freshness = self.service.freshness(self.period, self.category)
        return leaderboard_embed(page, freshness, note=note)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who ran /leaderboard can turn its pages; run the command yourself.",
            ephemeral=True,
        )
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page += step
        embed = self.render()
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction, _: discord.ui.Button[LeaderboardView]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary)
    async def next(
        self, interaction: discord.Interaction, _: discord.ui.Button[LeaderboardView]
    ) -> None:
        await self._turn(interaction, 1)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.interaction is not None:
            try:
                await self.interaction.edit_original_response(view=self)
            except discord.HTTPException:
                log.debug("could not disable leaderboard buttons (message gone)")

    async def on_error(
        self,
        interaction: discord.Interaction,
        error: Exception,
        item: discord.ui.Item[LeaderboardView],
    ) -> None:
        await report_unexpected(interaction, error, "the /leaderboard buttons")


class LeaderboardCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.service = bot.services.leaderboard

    @app_commands.command(name="leaderboard", description="Top Polymarket traders, from memory")
    @app_commands.describe(
        period="Time window (default: week)",
        metric="Rank by PnL, volume, or copy score (default: score)",
        page="Page of 10 traders (default: 1)",
        category="A Polymarket category's board (default: overall)",
    )
    async def leaderboard(
        self,
        interaction: discord.Interaction,
        period: Period = "week",
        metric: Metric = "score",
        page: app_commands.Range[int, 1, 1000] = 1,
        category: BoardCategory = "overall",
    ) -> None:
        started = time.perf_counter()
        view = LeaderboardView(self.service, interaction.user.id, period, metric, page, category)
        view.interaction = interaction
        embed = view.render()
        if embed is None and category != "overall":
            raise UserFacingError(
                "Category boards are still loading from Polymarket; try again in a few minutes."
            )
        if embed is None:
            # Only a bot that never stored a board gets here: wait for the first refresh.
            await interaction.response.defer(thinking=True)
            interaction.extras[PUBLIC_DEFER] = True
            await self.service.wait_for_board(period, FIRST_LOAD_TIMEOUT)
            embed = view.render()
            if embed is None:
                raise UserFacingError(
                    "The leaderboard is still loading from Polymarket; try again in a minute."
                )
            await interaction.edit_original_response(embed=embed, view=view)
            return
        await interaction.response.send_message(embed=embed, view=view)
        log.debug("/leaderboard answered in %.2f ms", (time.perf_counter() - started) * 1000)


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(LeaderboardCog(bot))
