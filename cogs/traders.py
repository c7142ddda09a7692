"""/trader and the trader loops (positions sync, daily statistics): thin adapters."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.loops import PeriodicTask
from bot.render.charts import pnl_chart
from bot.render.text import display_name
from bot.render.trader import trader_embed
from bot.traders.resolve import TraderNotFound, resolve_trader, suggestions
from bot.tree import PUBLIC_DEFER

log = logging.getLogger(__name__)

TOP_TRADERS = 50
DAILY = 86_400.0
CHART_NAME = "pnl.png"


class TradersCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.bot = bot
        self.profiles = bot.profiles
        self.charts = bot.cache.ttl_cache(
            "charts", ttl=bot.settings.trader_cache_ttl_seconds, max_size=500
        )
        self.positions_loop = bot.register_loop(
            PeriodicTask(
                "trader-positions",
                bot.settings.trader_sync_seconds,
                self.sync_positions,
                run_first_immediately=False,
            )
        )
        self.daily_loop = bot.register_loop(
            PeriodicTask(
                # first run at start: a bot restarted more often than daily would never run it
                "trader-daily-stats",
                DAILY,
                self.update_daily,
            )
        )

    async def cog_load(self) -> None:
        self.positions_loop.start()
        self.daily_loop.start()

    async def cog_unload(self) -> None:
        await self.positions_loop.stop()
        await self.daily_loop.stop()

    def top_wallets(self) -> list[str]:
        board = self.bot.leaderboard.board("week")
        return [e.wallet for e in board.by_metric["score"][:TOP_TRADERS]] if board else []

    async def sync_positions(self) -> None:
        synced = await self.profiles.sync_positions(self.top_wallets())
        log.info("trader positions synced for %d traders", synced)

    async def update_daily(self) -> None:
        updated = await self.profiles.refresh_details(self.top_wallets())
        log.info("daily statistics updated for %d traders", updated)

    async def _resolve(self, text: str) -> str:
        try:
            return resolve_trader(text, self.bot.leaderboard)[0]
        except TraderNotFound:
            # not on the leaderboard: maybe a trader we stored a profile for
            wallet = await self.profiles.wallet_for_name(text.strip()[:100])
            if wallet is None or text.strip().lower().startswith("0x"):
                raise
            return wallet

    @app_commands.command(name="trader", description="A trader's profile, positions and PnL chart")
    @app_commands.describe(trader="Wallet (0x…) or username")
    async def trader(self, interaction: discord.Interaction, trader: str) -> None:
        wallet = await self._resolve(trader)
        if self.profiles.cached(wallet) is None:  # a first lookup may need PostgreSQL/upstream
            await interaction.response.defer(thinking=True)
            interaction.extras[PUBLIC_DEFER] = True
        profile = await self.profiles.get(wallet)  # cached: at once (stale ones refresh behind)
        title = f"{display_name(profile.name, wallet).replace(chr(92), '')} · cumulative PnL"
        # One render per profile version (rendering takes ~100 ms in a worker thread).
        chart = await self.charts.get(
            f"pnl:{wallet}:{profile.details_at}:{len(profile.pnl_series)}",
            lambda: asyncio.to_thread(pnl_chart, profile.pnl_series, title=title),
        )
        embed = trader_embed(profile, chart_name=CHART_NAME)
        file = discord.File(io.BytesIO(chart), filename=CHART_NAME)
        if interaction.response.is_done():
            await interaction.edit_original_response(embed=embed, attachments=[file])
        else:
            await interaction.response.send_message(embed=embed, file=file)

    @trader.autocomplete("trader")
    async def trader_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        extra: dict[str, str] = {}
        if current:
            try:  # a slow database must not fail the suggestions: the leaderboard's still show
                extra = await asyncio.wait_for(
                    self.profiles.name_suggestions(current.strip()[:100]), 1.0
                )
            except Exception as exc:
                log.debug("stored trader names unavailable for autocomplete: %s", exc)
        return [
            app_commands.Choice(name=label, value=wallet)
            for label, wallet in suggestions(current, self.bot.leaderboard, extra)
        ]


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(TradersCog(bot))
