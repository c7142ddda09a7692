"""Posts alert cards to Discord: the one place alert delivery touches discord.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import discord

from bot.render.alerts import alert_embed, alert_view
from bot.signals.context import CardContexts
from bot.trades.cards import AlertCard
from bot.trades.dispatcher import ChannelUnavailable, MessageRejected

# Discord error codes meaning "this channel will never accept our messages".
GONE_CODES = {10003: "the channel was deleted", 50001: "the bot cannot see the channel"}


class DiscordAlertSender:
    def __init__(self, client: discord.Client, contexts: CardContexts) -> None:
        self._client = client
        self._contexts = contexts

    async def send(
        self,
        channel_id: int,
        nonce: str,
        cards: Sequence[AlertCard],
        before_post: Callable[[], Awaitable[None]],
    ) -> int:
        contexts = await self._contexts.build(channel_id, cards)
        embeds = [alert_embed(card, ctx) for card, ctx in zip(cards, contexts, strict=True)]
        view = alert_view(cards, contexts)
        channel = self._client.get_partial_messageable(channel_id)
        await before_post()
        try:
            message = await channel.send(
                embeds=embeds,
                view=view,
                nonce=nonce,
                allowed_mentions=discord.AllowedMentions.none(),
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
