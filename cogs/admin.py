"""/admin refresh and /admin status: hidden from non-admins and refused to them at run time."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import admin_only
from bot.client import PolymarketBot
from bot.render.status import status_embed
from bot.render.text import relative_time

log = logging.getLogger(__name__)

Target = Literal["leaderboard", "traders", "markets", "all"]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(commands.GroupCog, group_name="admin", group_description="Bot administration"):
    def __init__(self, bot: PolymarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="refresh", description="Refresh cached Polymarket data now")
    @app_commands.describe(target="What to refresh (default: leaderboard)")
    @admin_only()
    async def refresh(
        self, interaction: discord.Interaction, target: Target = "leaderboard"
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if target in ("markets", "all"):
            self.bot.markets.invalidate()
            self.bot.cache.invalidate_prefix("mid:")  # prices are re-read on next use
            await self.bot.loops["markets"].run_once()
        if target in ("traders", "all"):
            await self.bot.loops["trader-positions"].run_once()
        started = time.perf_counter()
        try:
            report, joined = await self.bot.leaderboard.request_refresh(
                refetch_details=target in ("traders", "all")
            )
        except Exception as exc:
            log.warning("admin refresh failed: %s", exc)
            await interaction.followup.send(
                "The refresh failed and the previous leaderboard is still served; see "
                "/admin status for the error and try again later.",
                ephemeral=True,
            )
            return
        waited = time.perf_counter() - started
        note = " (joined the refresh that was already running)" if joined else ""
        failed = (
            " Failed periods: " + ", ".join(report.periods_failed) + "."
            if report.periods_failed
            else ""
        )
        extra = ""
        if target in ("markets", "all"):
            extra = f" Markets loop: {self.bot.loops['markets'].status.last_outcome}."
        if target in ("traders", "all"):
            extra += (
                f" Trader details re-fetched: {report.details_fetched}; positions sync: "
                f"{self.bot.loops['trader-positions'].status.last_outcome}."
            )
        await interaction.followup.send(
            f"Leaderboard refreshed in {report.duration:.2f} s{note}: "
            f"{report.trader_count} traders ranked across {len(report.periods_ok)} periods "
            f"(waited {waited:.2f} s).{failed}{extra}",
            ephemeral=True,
        )

    async def _live_status(self) -> dict[str, str]:
        stream = self.bot.stream.stats
        ingest = self.bot.ingest.stats
        try:
            counts = await asyncio.wait_for(self.bot.alerts.pending_counts(), 1.0)
        except Exception as exc:  # the status must work when the database does not
            log.warning("alert counts unavailable: %s", exc)
            counts = {}
        now = time.time()
        since = relative_time(stream.connected_since) if stream.connected_since else "—"
        last = f"{now - stream.last_message_at:.1f}s ago" if stream.last_message_at else "never"
        return {
            "Stream": ("connected since " + since) if stream.connected else "disconnected",
            "Messages": f"{stream.messages_per_second():.1f}/s · last {last} · total "
            f"{stream.messages} · trades {stream.trades} · matched {stream.matched}",
            "Problems": f"reconnects {stream.reconnects} (silent {stream.silent_reconnects}) · "
            f"junk frames {stream.junk} · shed {ingest.shed}",
            "Queues": f"ingest {self.bot.ingest.queue_depth()} · channels sending "
            f"{self.bot.alerts.active_channels}",
            "Trades": f"stored {ingest.stored} · duplicates {ingest.duplicates} · "
            f"backfilled {ingest.backfilled}",
            "Alerts": f"sent {counts.get('SENT', 0)} · pending {counts.get('PENDING', 0)} · "
            f"failed {counts.get('FAILED', 0)}",
        }

    @app_commands.command(name="status", description="Background loops, cache and upstream calls")
    @admin_only()
    async def status(self, interaction: discord.Interaction) -> None:
        embed = status_embed(
            loops=[loop.status for loop in self.bot.loops.values()],
            cache=self.bot.cache.describe(),
            calls=dict(self.bot.polymarket.calls),
            failures=dict(self.bot.polymarket.failures),
            calls_since=self.bot.polymarket.started_at,
            periods=self.bot.leaderboard.states,
            live=await self._live_status(),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(AdminCog(bot))
