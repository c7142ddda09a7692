"""What the parts of copy trading share: the lookups the bot injects, the clock, two helpers.

Why injected lookups: copy trading needs a market's fresh state (for closed and resolved
markets) and a copied trader's position (to mirror the share of a sell), which other services
own; taking them as plain callables, sync or async, keeps this package free of those services
and lets tests pass a dict lookup or a fake.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from bot.polymarket.records import Market

T = TypeVar("T")

Clock = Callable[[], float]  # unix seconds; tests pass a clock they can advance
MarketLookup = Callable[[str], Awaitable[Market | None] | Market | None]
PositionLookup = Callable[[str, str], Awaitable[float | None] | float | None]


def utc(ts: float) -> datetime:
    """A clock reading as the timestamptz PostgreSQL stores."""
    return datetime.fromtimestamp(ts, tz=UTC)


async def maybe_await(value: Awaitable[T] | T) -> T:
    """The value of an injected lookup, whether it answered at once or with an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value
