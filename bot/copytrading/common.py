"""What the parts of copy trading share: the lookups the bot injects, the clock, three helpers.

Why injected lookups: copy trading needs a market's fresh state (for closed and resolved
markets) and a copied trader's position (to mirror the share of a sell), which other services
own; taking them as plain callables, sync or async, keeps this package free of those services
and lets tests pass a dict lookup or a fake.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
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


async def run_together(work: Iterable[Awaitable[None]]) -> None:
    """Run ``work`` side by side; return, or raise, only once every part of it has ended.

    Why not a bare ``asyncio.gather``: when the caller is cancelled or one part fails, gather
    raises as soon as the first part ends and leaves the others running unobserved. A cancelled
    sync pass then returned while fills of other portfolios were still committing, so whatever
    came next (a restarted pass, a shutdown closing the pool, a check of the books) raced them.
    Here the others are cancelled, once (a part already stopping is left to finish its rollback
    or commit), and waited for; then the first failure, or the cancellation, is raised as is."""
    tasks = [asyncio.ensure_future(part) for part in work]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            if not task.done() and not task.cancelling():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
