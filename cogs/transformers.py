"""One argument type per kind of thing a command names: ``Trader`` for every trader option,
``Category`` (Polymarket's categories, re-exported) for every category option.

``/trader``, ``/follow``, ``/unfollow``, ``/copy`` and ``/label`` all take a trader; this one
transformer resolves it (wallet, username, or a label this server gave the wallet), suggests
as the user types (the server's labels first), and raises the one error message the tree
shows, so no cog repeats resolution or autocomplete.
"""

from __future__ import annotations

from typing import cast

import discord
from discord import app_commands

from bot.client import PolymarketBot, Services
from bot.polymarket.records import Category
from bot.render.text import short_wallet
from bot.traders.resolve import TraderRef

__all__ = ["Category", "FollowedTrader", "Trader", "services_of"]

MAX_CHOICES = 25


def services_of(interaction: discord.Interaction) -> Services:
    return cast(PolymarketBot, interaction.client).services


def labelled(label: str, wallet: str) -> str:
    """An autocomplete entry: '🏷 Label (0x12…abcd)'."""
    return f"🏷 {label} ({short_wallet(wallet)})"[:100]


def label_choices(interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
    """This server's labels matching what was typed (by name or wallet)."""
    labels = services_of(interaction).labels.of_guild(interaction.guild_id or 0)
    needle = typed.strip().lower()
    return [
        app_commands.Choice(name=labelled(label, wallet), value=wallet)
        for wallet, label in sorted(labels.items(), key=lambda item: item[1].lower())
        if needle in label.lower() or wallet.startswith(needle)
    ][:MAX_CHOICES]


class TraderTransformer(app_commands.Transformer):
    """A wallet (0x…), a username, or a server label; autocomplete from the server's labels,
    the leaderboard and stored profiles."""

    async def transform(self, interaction: discord.Interaction, value: str) -> TraderRef:
        services = services_of(interaction)
        labelled_wallet = services.labels.wallet_for(interaction.guild_id or 0, value)
        if labelled_wallet is not None:
            return TraderRef(labelled_wallet, value.strip())
        return await services.traders.resolve(value)

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        choices = label_choices(interaction, value)
        labelled_wallets = {c.value for c in choices}
        found = await services_of(interaction).traders.suggest(value)
        choices += [
            app_commands.Choice(name=label, value=wallet)
            for label, wallet in found
            if wallet not in labelled_wallets
        ]
        return choices[:MAX_CHOICES]


class FollowedTraderTransformer(TraderTransformer):
    """A trader this server follows: suggestions come from its follows, not the leaderboard."""

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        services = services_of(interaction)
        guild_id = interaction.guild_id or 0
        labels = services.labels.of_guild(guild_id)
        typed = value.strip().lower()
        seen: dict[str, str] = {}
        guild_follows, _ = await services.follows.guild_overview(guild_id)
        for follow in guild_follows:
            name = labels.get(follow.wallet) or follow.label
            if typed in name.lower() or follow.wallet.startswith(typed):
                seen.setdefault(follow.wallet, name)
        return [
            app_commands.Choice(
                name=(
                    labelled(name, w)
                    if w in labels
                    else (f"{name} ({short_wallet(w)})" if name else w)[:100]
                ),
                value=w,
            )
            for w, name in list(seen.items())[:MAX_CHOICES]
        ]


Trader = app_commands.Transform[TraderRef, TraderTransformer]
FollowedTrader = app_commands.Transform[TraderRef, FollowedTraderTransformer]
