"""One argument type per kind of thing a command names: ``Trader`` for every trader option.

``/trader``, ``/follow``, ``/unfollow``, ``/copy`` and ``/label`` all take a trader; this one
transformer resolves it (wallet or username), suggests as the user types, and raises the one
error message the tree shows, so no cog repeats resolution or autocomplete.
"""

from __future__ import annotations

from typing import cast

import discord
from discord import app_commands

from bot.client import PolymarketBot, Services
from bot.render.text import short_wallet
from bot.traders.resolve import TraderRef


def services_of(interaction: discord.Interaction) -> Services:
    return cast(PolymarketBot, interaction.client).services


class TraderTransformer(app_commands.Transformer):
    """A wallet (0x…) or a username; autocomplete from the leaderboard and stored profiles."""

    async def transform(self, interaction: discord.Interaction, value: str) -> TraderRef:
        return await services_of(interaction).traders.resolve(value)

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        found = await services_of(interaction).traders.suggest(value)
        return [app_commands.Choice(name=label, value=wallet) for label, wallet in found]


class FollowedTraderTransformer(TraderTransformer):
    """A trader this server follows: suggestions come from its follows, not the leaderboard."""

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        follows = services_of(interaction).follows
        typed = value.strip().lower()
        seen: dict[str, str] = {}
        guild_follows, _ = await follows.guild_overview(interaction.guild_id or 0)
        for follow in guild_follows:
            if typed in follow.label.lower() or follow.wallet.startswith(typed):
                seen.setdefault(follow.wallet, follow.label)
        return [
            app_commands.Choice(
                name=(f"{label} ({short_wallet(w)})" if label else w)[:100], value=w
            )
            for w, label in list(seen.items())[:25]
        ]


Trader = app_commands.Transform[TraderRef, TraderTransformer]
FollowedTrader = app_commands.Transform[TraderRef, FollowedTraderTransformer]
