"""/follow, /unfollow, /alerts and /whales: thin adapters over FollowService."""

from __future__ import annotations

import asyncio
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.render.follows import alerts_embed
from bot.render.numbers import money
from bot.render.text import display_name, short_wallet
from bot.tree import UserFacingError
from cogs.channels import ensure_bot_can_post, target_channel
from cogs.transformers import Category, FollowedTrader, Trader

Side = Literal["buy", "sell", "both"]
SIDE_TEXT = {"buy": "buys", "sell": "sells", "both": "buys and sells"}
FROM_MEMORY = (
    "⚠️ The bot's database is not answering: this list comes from memory (active follows "
    "only, without alert counts) and may be out of date."
)


@app_commands.guild_only()
class FollowsCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.follows = bot.services.follows
        self.signals = bot.services.signals
        self.labels = bot.services.labels

    @app_commands.command(name="follow", description="Post this trader's trades in a channel")
    @app_commands.describe(
        trader="Wallet (0x…) or leaderboard username",
        channel="Where alerts go (default: here)",
        min_usd="Only trades worth at least this many dollars (default 0)",
        side="Buys, sells or both (default both)",
        category="Only trades in markets of this category (default: all)",
    )
    @app_commands.default_permissions(manage_channels=True)
    async def follow(
        self,
        interaction: discord.Interaction,
        trader: Trader,
        channel: discord.TextChannel | None = None,
        min_usd: app_commands.Range[float, 0.0, 1e9] = 0.0,
        side: Side = "both",
        category: Category | None = None,
    ) -> None:
        wallet, label = trader.wallet, trader.label
        target = target_channel(interaction, channel)
        ensure_bot_can_post(target)
        await self.follows.follow(
            guild_id=interaction.guild_id or 0,
            channel_id=target.id,
            wallet=wallet,
            label=label,
            min_usd=float(min_usd),
            side=side,
            user_id=interaction.user.id,
            category=category,
        )
        floor = f" worth at least {money(min_usd)}" if min_usd > 0 else ""
        only = f" in {category} markets" if category else ""
        await interaction.response.send_message(
            f"Following {display_name(label, wallet)} (`{short_wallet(wallet)}`) in "
            f"{target.mention}: alerts for {SIDE_TEXT[side]}{floor}{only}.",
            ephemeral=True,
        )

    @app_commands.command(name="unfollow", description="Stop posting a trader's trades")
    @app_commands.describe(trader="The followed trader", channel="The channel (default: here)")
    @app_commands.default_permissions(manage_channels=True)
    async def unfollow(
        self,
        interaction: discord.Interaction,
        trader: FollowedTrader,
        channel: discord.TextChannel | None = None,
    ) -> None:
        wallet, label = trader.wallet, trader.label
        channel_id = target_channel(interaction, channel).id
        if not await self.follows.unfollow(channel_id, wallet):
            raise UserFacingError(
                f"`{short_wallet(wallet)}` is not followed in <#{channel_id}>; /alerts lists "
                "this server's follows."
            )
        await interaction.response.send_message(
            f"Stopped alerts for {display_name(label, wallet)} in <#{channel_id}>.", ephemeral=True
        )

    @app_commands.command(
        name="alerts", description="This server's follows, whale watches, signals and labels"
    )
    async def alerts(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id or 0
        # both bounded by the database deadline, and together so that they share it
        (follows, whales), (signals, sent) = await asyncio.gather(
            self.follows.guild_overview(guild_id), self.signals.guild_watches(guild_id)
        )
        embed = alerts_embed(follows, whales, signals, sent, self.labels.of_guild(guild_id))
        await interaction.response.send_message(
            FROM_MEMORY if self.follows.from_memory else None, embed=embed, ephemeral=True
        )

    @app_commands.command(name="whales", description="Post every big trade on Polymarket")
    @app_commands.describe(
        channel="Where whale alerts go (default: here)",
        min_usd="Smallest trade in dollars (default 10,000; 0 turns whale alerts off)",
        include_near_certain="Also alert trades priced at 95¢ or more (default no)",
        category="Only trades in markets of this category (default: all)",
    )
    @app_commands.default_permissions(manage_channels=True)
    async def whales(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        min_usd: app_commands.Range[float, 0.0, 1e9] = 10_000.0,
        include_near_certain: bool = False,
        category: Category | None = None,
    ) -> None:
        target = target_channel(interaction, channel)
        channel_id = target.id
        if min_usd > 0:
            ensure_bot_can_post(target)
        watch = await self.follows.set_whales(
            guild_id=interaction.guild_id or 0,
            channel_id=channel_id,
            min_usd=float(min_usd),
            include_near_certain=include_near_certain,
            user_id=interaction.user.id,
            category=category,
        )
        if watch is None:
            text = f"Whale alerts are off in <#{channel_id}>."
        else:
            near = "" if include_near_certain else ", skipping near-certain trades (95¢+)"
            only = f" in {category} markets" if category else ""
            text = (
                f"Whale alerts on in <#{channel_id}>: every trade of {money(min_usd)} "
                f"or more{only}{near}."
            )
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(FollowsCog(bot))
