"""In-process event bus: a stored trade, a replaced snapshot, a follow, an admin refresh.

Handlers run as tasks so a slow or failing subscriber never blocks or breaks the publisher;
their exceptions are logged. (Several processes would bridge this over LISTEN/NOTIFY.)
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

LEADERBOARD_REPLACED = "leaderboard.replaced"
ADMIN_REFRESH = "admin.refresh"
TRADE_STORED = "trade.stored"
FOLLOW_ADDED = "follow.added"

Handler = Callable[["Event"], Awaitable[None]]


@dataclass(frozen=True)
class Event:
    topic: str
    data: dict[str, Any] = field(default_factory=dict)


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()
        self.published: dict[str, int] = defaultdict(int)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        if handler in self._handlers.get(topic, []):
            self._handlers[topic].remove(handler)

    def publish(self, topic: str, **data: Any) -> None:
        event = Event(topic, data)
        self.published[topic] += 1
        for handler in list(self._handlers.get(topic, [])):
            task = asyncio.get_running_loop().create_task(self._run(handler, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, event: Event) -> None:
        try:
            await handler(event)
        except Exception:
            log.exception("event handler %r failed for %s", handler, event.topic)

    async def drain(self) -> None:
        """Wait for handlers in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
