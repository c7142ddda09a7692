"""In-process event bus with typed events: a stored trade, a new follow, a changed setting.

Events are small frozen dataclasses, so a subscriber sees exactly which fields it gets and the
type checker sees every publisher and subscriber. Handlers run as tasks so a slow or failing
subscriber never blocks or breaks the publisher; their exceptions are logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event; subclasses carry the payload as typed fields."""


@dataclass(frozen=True, slots=True)
class TradeStored(Event):
    """A new trade of ``wallet`` was stored (live, reconciled or backfilled)."""

    wallet: str
    trade_key: str


@dataclass(frozen=True, slots=True)
class FollowAdded(Event):
    """A channel started following ``wallet``: its score inputs are worth refreshing."""

    wallet: str
    channel_id: int


@dataclass(frozen=True, slots=True)
class ChannelDisabled(Event):
    """The bot can no longer post in ``channel_id``: everything alerting there stops."""

    channel_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class SignalsChanged(Event):
    """A server turned a signal on, off or moved it: every process reloads its signal watches."""

    guild_id: int


@dataclass(frozen=True, slots=True)
class LabelsChanged(Event):
    """A server named (or unnamed) a trader: every process reloads that server's labels."""

    guild_id: int


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()
        self.published: dict[str, int] = defaultdict(int)

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        if handler in self._handlers.get(event_type, []):
            self._handlers[event_type].remove(handler)

    def publish(self, event: Event) -> None:
        self.published[type(event).__name__] += 1
        for handler in list(self._handlers.get(type(event), [])):
            task = asyncio.get_running_loop().create_task(self._run(handler, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, event: Event) -> None:
        try:
            await handler(event)
        except Exception:
            log.exception("event handler %r failed for %s", handler, type(event).__name__)

    async def drain(self) -> None:
        """Wait for handlers in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
