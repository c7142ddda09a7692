"""/signals and /label: thin adapters over SignalService and LabelService."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PolymarketBot
from bot.render.numbers import money
from bot.render.text import display_name, short_wallet
from bot.signals.models import DEFAULT_MIN_USD
from cogs.channels import ensure_bot_can_post, target_channel
from cogs.transformers import Category, Trader

Kind = Literal["fresh", "smart", "consensus"]
WHAT = {
    "fresh": "trades of wallets whose Polymarket account is {days} days old or less",
    "smart": "trades of the 25 best copy scores of the week",
    "consensus": "3 or more of the 50 best copy scores buying the same outcome within 24h",
}


@app_commands.guild_only()
class SignalsCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.signals = bot.services.signals
        self.labels = bot.services.labels
        self.fresh_days = bot.settings.fresh_wallet_days

    @app_commands.command(
        name="signals", description="Post fresh-wallet, smart-money or consensus alerts"
    )
    @app_commands.describe(
        kind="fresh wallets, smart money (top traders) or consensus (top traders agreeing)",
        channel="Where these alerts go (default: here)",
        min_usd="Smallest trade in dollars (default 1,000 for fresh, 500 otherwise; 0: off)",
        category="Only markets of this category (default: all)",
    )
    @app_commands.default_permissions(manage_channels=True)
    async def signals_command(
        self,
        interaction: discord.Interaction,
        kind: Kind,
        channel: discord.TextChannel | None = None,
        min_usd: app_commands.Range[float, 0.0, 1e9] | None = None,
        category: Category | None = None,
    ) -> None:
        target = target_channel(interaction, channel)
        amount = DEFAULT_MIN_USD[kind] if min_usd is None else float(min_usd)
        if amount > 0:
            ensure_bot_can_post(target)
        watch = await self.signals.set_watch(
            guild_id=interaction.guild_id or 0,
            kind=kind,
            channel_id=target.id,
            min_usd=amount,
            category=category,
            user_id=interaction.user.id,
        )
        if watch is None:
            text = f"{kind.capitalize()} signals are off in this server."
        else:
            what = WHAT[kind].format(days=f"{self.fresh_days:g}")
            per = " per trader" if kind == "consensus" else ""
            only = f", {category} markets only" if category else ""
            text = (
                f"{kind.capitalize()} signals on in {target.mention}: {what},"
                f" {money(amount)} or more{per}{only}."
            )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="label", description="Give a trader a name on this server")
    @app_commands.describe(
        trader="Wallet (0x…), username or label", name="The name (leave empty to remove it)"
    )
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    async def label(
        self,
        interaction: discord.Interaction,
        trader: Trader,
        name: app_commands.Range[str, 0, 100] = "",
    ) -> None:
        wallet = trader.wallet
        saved = await self.labels.set(interaction.guild_id or 0, wallet, name, interaction.user.id)
        if saved is None:
            text = f"Removed this server's label of `{short_wallet(wallet)}`."
        else:
            text = (
                f"`{short_wallet(wallet)}` is now **{display_name(saved, wallet)}** on this"
                " server's alerts, /alerts and suggestions."
            )
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(SignalsCog(bot))
