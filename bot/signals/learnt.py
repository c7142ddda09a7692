"""Facts learnt once per key (a wallet's age, a market's tags): memory, then PostgreSQL, then one
upstream lookup per key, coalesced and rate-limited.

A fact does not change once learnt (when an account was created, which tags a market has), so
it is kept without expiry, bounded by least-recent use, and stored so a restart does not ask
again. "Polymarket does not know this key" is an answer too and is kept in memory for a while,
so an unknown market is not looked up on every trade. A failed lookup is never kept: the next
caller asks again (through the rate limiter, so a failing upstream is not hammered).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from aiolimiter import AsyncLimiter

from bot.cache import SingleFlight

log = logging.getLogger(__name__)

V = TypeVar("V")


@dataclass
class LookupStats:
    hits: int = 0  # answered from memory
    stored: int = 0  # answered from PostgreSQL
    lookups: int = 0  # upstream lookups started
    unknown: int = 0  # upstream had no answer
    failures: int = 0  # upstream failed (nothing kept)


class LearntOnce(Generic[V]):
    def __init__(
        self,
        name: str,
        *,
        load_stored: Callable[[Sequence[str]], Awaitable[dict[str, V]]],
        fetch: Callable[[str], Awaitable[V | None]],
        store: Callable[[str, V], Awaitable[None]],
        limiter: AsyncLimiter,
        max_entries: int = 100_000,
        unknown_ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._load_stored = load_stored
        self._fetch = fetch
        self._store = store
        self._limiter = limiter
        self._max_entries = max_entries
        self._unknown_ttl = unknown_ttl
        self._clock = clock
        self._known: OrderedDict[str, V] = OrderedDict()
        self._unknown: dict[str, float] = {}  # key -> until when "upstream has none" holds
        self._flight: SingleFlight[str, V | None] = SingleFlight()
        self._background: set[asyncio.Task[dict[str, V]]] = set()
        self.stats = LookupStats()

    def peek(self, key: str) -> V | None:
        """What is known now, without waiting for anything."""
        return self._known.get(key)

    async def get_many(self, keys: Iterable[str]) -> dict[str, V]:
        """Known facts for ``keys``; keys upstream does not know (or failed on) are left out."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, V] = {}
        missing: list[str] = []  # neither in memory nor being looked up: storage first
        flying: list[str] = []  # being looked up already (storage had none): join it
        now = self._clock()
        for key in wanted:
            value = self._known.get(key)
            if value is not None:
                self._known.move_to_end(key)
                self.stats.hits += 1
                found[key] = value
            elif self._flight.in_flight(key):
                flying.append(key)
            elif self._unknown.get(key, 0.0) <= now:
                missing.append(key)
        if missing:
            stored = await self._load_stored(missing)
            self.stats.stored += len(stored)
            for key, value in stored.items():
                self._remember(key, value)
            found.update(stored)
            missing = [key for key in missing if key not in stored]
        missing += flying
        results = await asyncio.gather(
            *(self._flight.run(key, self._lookup_of(key)) for key in missing),
            return_exceptions=True,
        )
        for key, result in zip(missing, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                continue
            if result is not None:
                found[key] = result
        return found

    def learn_soon(self, keys: Iterable[str]) -> None:
        """Start learning what is not known yet (nor being learnt) without waiting for it (a
        later ``get_many`` joins the lookups in flight)."""
        now = self._clock()
        missing = [
            k
            for k in keys
            if k not in self._known
            and self._unknown.get(k, 0.0) <= now
            and not self._flight.in_flight(k)
        ]
        if missing:
            task = asyncio.get_running_loop().create_task(self.get_many(missing))
            self._background.add(task)
            task.add_done_callback(self._learnt)

    def _learnt(self, task: asyncio.Task[dict[str, V]]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: learning in the background failed: %r", self.name, task.exception())

    def _remember(self, key: str, value: V) -> None:
        self._known[key] = value
        self._known.move_to_end(key)
        self._unknown.pop(key, None)
        while len(self._known) > self._max_entries:
            self._known.popitem(last=False)

    def _lookup_of(self, key: str) -> Callable[[], Awaitable[V | None]]:
        return lambda: self._lookup(key)

    async def _lookup(self, key: str) -> V | None:
        async with self._limiter:
            self.stats.lookups += 1
            try:
                value = await self._fetch(key)
            except Exception as exc:
                self.stats.failures += 1
                log.warning("%s of %s not learnt: %s", self.name, key, exc)
                raise
        if value is None:
            self.stats.unknown += 1
            if len(self._unknown) > self._max_entries:
                self._unknown.clear()  # crude bound: forgetting a miss costs one more lookup
            self._unknown[key] = self._clock() + self._unknown_ttl
            return None
        self._remember(key, value)
        try:
            await self._store(key, value)
        except Exception as exc:  # memory has it; storing again next run costs one lookup
            log.warning("%s of %s not stored: %s", self.name, key, exc)
        return value

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._flight.close()
