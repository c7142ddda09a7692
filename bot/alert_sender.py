"""Posts alert cards to Discord: the one place alert delivery touches discord.py.

``DiscordAlertSender`` renders each card on its own (one that cannot be rendered is reported,
never raised for the whole message), fits it within Discord's embed limits, posts prepared cards
as one message with its nonce, and can look a message up in the channel when Discord may have
forgotten the nonce. ``DiscordRateObserver`` reads Discord's rate-limit headers off every answer
(an aiohttp trace on discord.py's session) so delivery knows each channel's real bucket.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace

import aiohttp
import discord

from bot.render.alerts import alert_embed, alert_view
from bot.render.limits import EMBED_TOTAL, fit_embed
from bot.signals.context import CardContexts
from bot.signals.models import CardContext
from bot.trades.cards import AlertCard
from bot.trades.pacing import BucketHeaders
from bot.trades.sending import ChannelUnavailable, MessageRejected, Prepared, Rejected

log = logging.getLogger(__name__)

# Discord error codes meaning "this channel will never accept our messages".
GONE_CODES = {10003: "the channel was deleted", 50001: "the bot cannot see the channel"}
HISTORY_LIMIT = 200  # recent messages searched for one Discord may have posted already
POST_PATH = re.compile(r"/channels/(\d+)/messages$")


class DiscordAlertSender:
    def __init__(self, client: discord.Client, contexts: CardContexts) -> None:
        self._client = client
        self._contexts = contexts

    async def _contexts_or_default(
        self, channel_id: int, cards: Sequence[AlertCard]
    ) -> list[CardContext]:
        """Context is a nicety: an alert goes without it rather than not at all."""
        try:
            return await self._contexts.build(channel_id, cards)
        except Exception:
            log.exception("alert context for channel %s unavailable", channel_id)
            return [CardContext() for _ in cards]

    async def prepare(
        self, channel_id: int, cards: Sequence[AlertCard]
    ) -> list[Prepared | Rejected]:
        contexts = await self._contexts_or_default(channel_id, cards)
        results: list[Prepared | Rejected] = []
        for card, context in zip(cards, contexts, strict=True):
            try:
                embed = alert_embed(card, context)
                size = fit_embed(embed)
            except Exception as exc:  # e.g. OverflowError on an absurd value
                log.exception("alert card %s cannot be rendered", card.first.key)
                results.append(Rejected(card, f"cannot be rendered: {type(exc).__name__}"))
                continue
            if size > EMBED_TOTAL:
                results.append(Rejected(card, f"card too large ({size:,} characters)"))
                continue
            results.append(Prepared(card, size, (embed, context)))
        return results

    async def send(
        self,
        channel_id: int,
        nonce: str,
        cards: Sequence[Prepared],
        before_post: Callable[[], Awaitable[None]],
    ) -> int:
        embeds = [card.payload[0] for card in cards if isinstance(card.payload, tuple)]
        contexts = [card.payload[1] for card in cards if isinstance(card.payload, tuple)]
        view = alert_view([card.card for card in cards], contexts)
        channel = self._client.get_partial_messageable(channel_id)
        await before_post()
        try:
            message = await channel.send(
                embeds=embeds,
                view=view,
                nonce=nonce,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            raise _classified(exc) from exc
        return message.id

    async def find_posted(
        self, channel_id: int, nonce: str, transactions: Collection[str], since: float
    ) -> int | None:
        channel = self._client.get_partial_messageable(channel_id)
        me = self._client.user.id if self._client.user is not None else None
        links = [f"/tx/{tx.lower()}" for tx in transactions if tx]
        after = discord.Object(id=discord.utils.time_snowflake(datetime.fromtimestamp(since, UTC)))
        try:
            async for message in channel.history(limit=HISTORY_LIMIT, after=after):
                if me is not None and message.author.id != me:
                    continue
                if message.nonce is not None and str(message.nonce) == nonce:
                    return message.id
                shown = json.dumps([e.to_dict() for e in message.embeds]).lower()
                if any(link in shown for link in links):
                    return message.id
        except discord.Forbidden:  # no Read Message History: cannot check, so post again
            log.warning("cannot read the history of channel %s to avoid a resend", channel_id)
            return None
        except discord.NotFound as exc:
            raise _classified(exc) from exc
        return None


def _classified(exc: discord.HTTPException) -> Exception:
    """Discord's refusal as delivery understands it: the channel is gone, this one message is
    refused for good, or something worth retrying (the exception itself)."""
    if isinstance(exc, discord.NotFound):
        return ChannelUnavailable(GONE_CODES.get(exc.code, "the channel was not found"))
    if isinstance(exc, discord.Forbidden):
        reason = GONE_CODES.get(exc.code, "the bot may not post there (missing permissions)")
        return ChannelUnavailable(reason)
    if 400 <= exc.status < 500 and exc.status not in (401, 429):
        return MessageRejected(f"HTTP {exc.status}: {exc.text[:200]}")
    return exc


class DiscordRateObserver:
    """Discord's rate-limit headers, read off every answer to the bot (an aiohttp trace on
    discord.py's session): a post's bucket goes to ``on_bucket`` (channel id, headers), a global
    429 to ``on_global`` (seconds to hold every post)."""

    def __init__(
        self,
        on_bucket: Callable[[int, BucketHeaders], None],
        on_global: Callable[[float], None],
    ) -> None:
        self._on_bucket = on_bucket
        self._on_global = on_global
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._request_end)
        self.global_limits = 0

    async def _request_end(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        self.read(params.method, params.url.path, params.response.status, params.response.headers)

    def read(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        """One answer's headers (split out of the trace hook so it is testable alone)."""
        if status == 429 and _is_global(headers):
            self.global_limits += 1
            self._on_global(_number(headers.get("Retry-After"), 1.0))
            return
        match = POST_PATH.search(path)
        if method != "POST" or match is None or "X-RateLimit-Remaining" not in headers:
            return
        bucket = BucketHeaders(
            limit=int(_number(headers.get("X-RateLimit-Limit"), 1)),
            remaining=int(_number(headers.get("X-RateLimit-Remaining"), 0)),
            reset_after=_number(headers.get("X-RateLimit-Reset-After"), 0.0),
        )
        self._on_bucket(int(match.group(1)), bucket)


def _is_global(headers: Mapping[str, str]) -> bool:
    return headers.get("X-RateLimit-Global", "").lower() == "true" or (
        headers.get("X-RateLimit-Scope", "") == "global"
    )


def _number(raw: str | None, default: float) -> float:
    """A header's number; junk, ``inf`` or ``nan`` count as absent (an infinite reset would
    hold a channel for good, and ``int(inf)`` would fail inside the request)."""
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return value if math.isfinite(value) else default
