"""The contract between alert delivery (bot/trades/dispatcher.py) and whoever posts to Discord.

Delivery is two steps so one bad card can never cost the others: ``prepare`` renders each card
on its own (a card that cannot be rendered comes back ``Rejected`` with the reason, the others
``Prepared`` with their size), the dispatcher packs the prepared cards into a message within
Discord's limits, records it, and only then ``send`` posts it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.trades.cards import MAX_CARDS, AlertCard

# Discord counts at most 6,000 characters over all the embeds of a message. Messages are packed
# to less, because a message resent after a crash is rendered again with fresher context (a
# price, a rank) and must still fit then.
MESSAGE_CHARACTERS = 5_500


class ChannelUnavailable(Exception):
    """The channel is gone or the bot may not post there: retrying cannot help."""


class MessageRejected(Exception):
    """Discord refused this one message for good (a 4xx other than 429): it posted nothing, so
    its cards may go again in smaller messages; a lone card it refuses is set aside."""


@dataclass(frozen=True)
class Prepared:
    """A card rendered for posting: ``payload`` is the sender's own (an embed and its context),
    ``size`` the characters Discord counts toward the message limit."""

    card: AlertCard
    size: int
    payload: object


@dataclass(frozen=True)
class Rejected:
    """A card that cannot be posted, and why (it is set aside, never retried)."""

    card: AlertCard
    reason: str


class AlertSender(Protocol):
    async def prepare(
        self, channel_id: int, cards: Sequence[AlertCard]
    ) -> list[Prepared | Rejected]:
        """Render each card for this channel (its server's labels, say) on its own, in order;
        one failing card never fails the others."""
        ...

    async def send(
        self,
        channel_id: int,
        nonce: str,
        cards: Sequence[Prepared],
        before_post: Callable[[], Awaitable[None]],
    ) -> int:
        """Post the cards as one message; returns its id. Raises ChannelUnavailable or
        MessageRejected. ``before_post`` is awaited right before the HTTP request: it takes the
        global posting slot, so slow preparation cannot bunch requests together."""
        ...

    async def find_posted(
        self, channel_id: int, nonce: str, transactions: Collection[str], since: float
    ) -> int | None:
        """The id of a message this bot posted in the channel since ``since`` (wall clock) with
        this nonce or showing one of these transactions, if any: a resend after Discord forgot
        the nonce must not post twice."""
        ...


def fit_message(cards: Sequence[Prepared], budget: int = MESSAGE_CHARACTERS) -> list[Prepared]:
    """The leading cards that fit one message: at most MAX_CARDS and ``budget`` characters (the
    first card always, the caller having set aside any card too large alone)."""
    fitted: list[Prepared] = []
    total = 0
    for card in cards:
        if fitted and (len(fitted) >= MAX_CARDS or total + card.size > budget):
            break
        fitted.append(card)
        total += card.size
    return fitted
