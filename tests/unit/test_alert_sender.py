"""The Discord side of alert delivery: each card rendered on its own, refusals classified, and
Discord's rate-limit headers read off the answers."""

from __future__ import annotations

import itertools
from typing import Any

import discord
import pytest

from bot import alert_sender
from bot.alert_sender import DiscordAlertSender, DiscordRateObserver, _classified
from bot.polymarket.records import Trade, trade_key
from bot.signals.models import CardContext
from bot.trades.cards import AlertCard
from bot.trades.pacing import BucketHeaders
from bot.trades.sending import ChannelUnavailable, MessageRejected, Prepared, Rejected

_numbers = itertools.count(1)


def card(price: float = 0.5, title: str = "Will it rain?") -> AlertCard:
    tx = f"0x{next(_numbers):064x}"
    wallet = "0x" + "a" * 40
    trade = Trade(
        trade_key(tx, wallet, "a", "BUY", 10, price), wallet, "a", "", "BUY", 10, price,
        1_800_000_000.0, tx, "Yes", title, "rain", "", "", "",
    )  # fmt: skip
    return AlertCard((trade,), "follow", False)


class Contexts:
    """Card contexts whose lookups fail: the context is a nicety, the card still goes."""

    async def build(self, channel_id: int, cards: Any) -> list[CardContext]:
        raise TimeoutError("the price is a nicety")


def sender() -> DiscordAlertSender:
    none: Any = None
    return DiscordAlertSender(none, Contexts())  # type: ignore[arg-type]


async def test_a_card_that_cannot_be_rendered_is_rejected_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, poison, other = card(), card(price=1e307), card()
    render = alert_sender.alert_embed

    def fragile(card: AlertCard, context: Any) -> discord.Embed:
        """A renderer that cannot cope with an absurd price (the parser refuses them now, but
        delivery must not depend on that)."""
        if card.first.price > 1:
            raise OverflowError("int too large to convert to float")
        return render(card, context)

    monkeypatch.setattr(alert_sender, "alert_embed", fragile)
    results = await sender().prepare(1, [good, poison, other])
    assert [type(r) for r in results] == [Prepared, Rejected, Prepared]
    rejected = results[1]
    assert isinstance(rejected, Rejected) and rejected.card is poison
    assert rejected.reason.startswith("cannot be rendered: OverflowError")
    prepared = results[0]
    assert isinstance(prepared, Prepared) and isinstance(prepared.payload, tuple)
    embed = prepared.payload[0]
    assert isinstance(embed, discord.Embed)
    assert prepared.size == sum(len(t) for t in (embed.title or "", embed.description or "")) + sum(
        len(f.name or "") + len(f.value or "") for f in embed.fields
    ) + len(embed.footer.text or "") + len(embed.author.name or "")


async def test_a_card_too_large_for_any_message_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def oversized(card: AlertCard, context: Any) -> discord.Embed:
        embed = discord.Embed(title="x")
        for n in range(10):
            embed.add_field(name=f"n{n}", value="v" * 1000)
        return embed

    monkeypatch.setattr(alert_sender, "alert_embed", oversized)
    (result,) = await sender().prepare(1, [card()])
    assert isinstance(result, Rejected) and "too large" in result.reason


class Response:
    def __init__(self, status: int, reason: str = "") -> None:
        self.status = status
        self.reason = reason


def refusal(status: int, code: int, message: str) -> discord.HTTPException:
    kind = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    if status >= 500:
        kind = discord.DiscordServerError
    return kind(Response(status), {"code": code, "message": message})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (refusal(404, 10003, "Unknown Channel"), ChannelUnavailable),
        (refusal(403, 50013, "Missing Permissions"), ChannelUnavailable),
        (refusal(400, 50035, "Invalid Form Body"), MessageRejected),
        (refusal(413, 0, "Request entity too large"), MessageRejected),
        (refusal(401, 0, "401: Unauthorized"), discord.HTTPException),
        (refusal(503, 0, "upstream"), discord.DiscordServerError),
    ],
)
def test_discords_refusals_are_classified(error: discord.HTTPException, expected: type) -> None:
    assert isinstance(_classified(error), expected)


def test_the_observer_hands_a_posts_bucket_and_a_global_429_to_delivery() -> None:
    buckets: list[tuple[int, BucketHeaders]] = []
    holds: list[float] = []
    observer = DiscordRateObserver(lambda c, h: buckets.append((c, h)), holds.append)
    headers = {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "3",
        "X-RateLimit-Reset-After": "4.250",
    }
    observer.read("POST", "/api/v10/channels/123/messages", 200, headers)
    observer.read("GET", "/api/v10/channels/123/messages", 200, headers)  # not a post
    observer.read("POST", "/api/v10/interactions/1/t/callback", 200, headers)
    observer.read("POST", "/api/v10/channels/9/messages", 200, {})  # no headers: nothing known
    assert buckets == [(123, BucketHeaders(limit=5, remaining=3, reset_after=4.25))]
    observer.read(
        "POST",
        "/api/v10/channels/123/messages",
        429,
        {"X-RateLimit-Global": "true", "Retry-After": "0.7"},
    )
    assert holds == [0.7] and observer.global_limits == 1


def test_junk_or_infinite_rate_limit_headers_count_as_absent() -> None:
    buckets: list[tuple[int, BucketHeaders]] = []
    holds: list[float] = []
    observer = DiscordRateObserver(lambda c, h: buckets.append((c, h)), holds.append)
    headers = {
        "X-RateLimit-Limit": "inf",
        "X-RateLimit-Remaining": "nan",
        "X-RateLimit-Reset-After": "inf",
    }
    observer.read("POST", "/api/v10/channels/123/messages", 200, headers)  # never raises
    assert buckets == [(123, BucketHeaders(limit=1, remaining=0, reset_after=0.0))]
    observer.read("POST", "/x", 429, {"X-RateLimit-Global": "true", "Retry-After": "inf"})
    assert holds == [1.0]
