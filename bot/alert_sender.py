"""Posts alert cards to Discord: the one place alert delivery touches discord.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import discord

from bot.leaderboard.service import LeaderboardService
from bot.markets.prices import PriceService
from bot.render.alerts import AlertContext, alert_embed
from bot.trades.cards import AlertCard
from bot.trades.dispatcher import ChannelUnavailable, MessageRejected

# Discord error codes meaning "this channel will never accept our messages".
GONE_CODES = {10003: "the channel was deleted", 50001: "the bot cannot see the channel"}


class DiscordAlertSender:
    def __init__(
        self, client: discord.Client, leaderboard: LeaderboardService, prices: PriceService
    ) -> None:
        self._client = client
        self._leaderboard = leaderboard
        self._prices = prices

    async def _context(self, card: AlertCard) -> AlertContext:
        standing = self._leaderboard.standing(card.first.wallet)
        price = await self._prices.midpoint(card.first.asset)
        if standing is None:
            return AlertContext(current_price=price)
        return AlertContext(rank=standing[0], score=standing[1], current_price=price)

    async def send(
        self,
        channel_id: int,
        nonce: str,
        cards: Sequence[AlertCard],
        before_post: Callable[[], Awaitable[None]],
    ) -> int:
        contexts = await asyncio.gather(*(self._context(card) for card in cards))
        embeds = [alert_embed(card, ctx) for card, ctx in zip(cards, contexts, strict=True)]
        channel = self._client.get_partial_messageable(channel_id)
        await before_post()
        try:
            message = await channel.send(
                embeds=embeds, nonce=nonce, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.NotFound as exc:
            raise ChannelUnavailable(GONE_CODES.get(exc.code, "the channel was not found")) from exc
        except discord.Forbidden as exc:
            reason = GONE_CODES.get(exc.code, "the bot may not post there (missing permissions)")
            raise ChannelUnavailable(reason) from exc
        except discord.HTTPException as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                raise MessageRejected(f"HTTP {exc.status}: {exc.text[:200]}") from exc
            raise
        return message.id
