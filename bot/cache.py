"""Hot-cache primitives: snapshot slots, single-flight loading, TTL caches and their registry.

Slash commands read memory, never Polymarket, so these pieces decide what a reader sees:

- `SnapshotSlot` holds a whole value (e.g. one leaderboard period) that is replaced in one
  attribute assignment, so a reader gets either the old or the new value, never a mix.
- `SingleFlight` makes N concurrent requests for one key cost one upstream call.
- `TTLCache` keeps per-key values for a while, serves a stale value while one background refresh
  runs (stale-while-revalidate), never stores a failure, and lets an invalidation beat a load
  that was already running.
- `HotCache` is the bot's one registry of the above, so events can invalidate by name and
  `/admin status` can describe everything.

Everything here runs on one event loop; there are no locks because there are no threads.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """One published value; frozen so a reader holding it can never see it change underneath."""

    value: T
    version: int
    updated_at: float  # wall-clock time.time() of the swap (or the data's own timestamp)


class SnapshotSlot(Generic[T]):
    """An atomically swapped value (e.g. a whole leaderboard period) with version and age.

    The current value lives in a single attribute, so `get` is one read and `swap` one write:
    readers never see a half-swapped state. The version keeps counting across `clear`, so a
    reader comparing versions is never fooled by a reset.
    """

    def __init__(self, name: str, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self._clock = clock
        self._current: Versioned[T] | None = None
        self._version = 0

    def get(self) -> Versioned[T] | None:
        return self._current

    def swap(self, value: T, updated_at: float | None = None) -> Versioned[T]:
        """Publish `value`; `updated_at` lets a value warmed from the database keep its real age."""
        self._version += 1
        stamp = self._clock() if updated_at is None else updated_at
        current = Versioned(value=value, version=self._version, updated_at=stamp)
        self._current = current
        return current

    def clear(self) -> None:
        self._current = None

    def age(self) -> float | None:
        """Seconds since the current value was published, or None when there is none."""
        current = self._current
        return None if current is None else max(0.0, self._clock() - current.updated_at)


class SingleFlight(Generic[K, V]):
    """N concurrent calls for one key share one in-flight task; the result is not kept afterwards;
    failures propagate to all waiters and are never cached.

    Each caller awaits the shared task through `asyncio.shield`, so a caller that is cancelled
    (e.g. an interaction that timed out) does not cancel the work the other callers wait for.
    """

    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Task[V]] = {}

    async def run(self, key: K, factory: Callable[[], Awaitable[V]]) -> V:
        return await asyncio.shield(self.start(key, factory))

    def start(self, key: K, factory: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        """Return the in-flight task for `key`, starting `factory()` if there is none.

        Synchronous, so a background refresh is registered before the caller yields and a second
        caller in the same tick finds it instead of starting another.
        """
        task = self._tasks.get(key)
        if task is None or task.done():
            task = asyncio.create_task(_await(factory), name=f"single-flight:{key!r}")
            self._tasks[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def forget(self, key: K) -> None:
        """Detach the task in flight for `key` (it finishes unobserved): the next caller starts a
        fresh load instead of joining one that began before an invalidation."""
        self._tasks.pop(key, None)

    def in_flight(self, key: K) -> bool:
        task = self._tasks.get(key)
        return task is not None and not task.done()

    async def close(self) -> None:
        """Cancel every in-flight task and wait for them, so nothing outlives the owner."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            # Mark the exception retrieved: when every waiter was cancelled (or nobody awaited a
            # background refresh) asyncio would otherwise log "exception was never retrieved".
            task.exception()


async def _await(factory: Callable[[], Awaitable[V]]) -> V:
    """Wrap any awaitable in a coroutine, because `asyncio.create_task` only takes coroutines."""
    return await factory()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stale: int = 0  # stale values served while a refresh ran
    loads: int = 0  # loader calls started
    load_failures: int = 0
    evictions: int = 0  # entries dropped because the cache was full
    invalidations: int = 0  # entries dropped by invalidate / invalidate_prefix / clear


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    stored_at: float
    fresh_until: float
    stale_until: float


class TTLCache(Generic[V]):
    """Per-key values that expire, with stale-while-revalidate, LRU bounds and safe invalidation.

    Keys are strings so related entries can be dropped together by prefix ("trader:0xabc...").
    Each entry's TTL is scattered by ±`jitter` so entries loaded together do not all expire, and
    hit Polymarket, in the same second. An entry past its TTL but within `stale_ttl` more is
    served at once while one background refresh runs; a failed refresh keeps the stale value.
    """

    def __init__(
        self,
        name: str,
        ttl: float,
        *,
        stale_ttl: float = 0.0,
        max_size: int = 10_000,
        jitter: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        if stale_ttl < 0:
            raise ValueError("stale_ttl must not be negative")
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.name = name
        self.ttl = ttl
        self.stale_ttl = stale_ttl
        self.max_size = max_size
        self.jitter = jitter
        self.stats = CacheStats()
        self._clock = clock
        self._random = random.Random()  # per cache: no shared global state
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._flight: SingleFlight[str, V] = SingleFlight()
        # key -> token of the load in flight. Invalidating or setting a key drops its token, and a
        # load only stores its result if its token is still there, so an invalidation that
        # happens while a load runs wins over the (older) data that load fetched.
        self._loading: dict[str, object] = {}

    async def get(self, key: str, loader: Callable[[], Awaitable[V]]) -> V:
        """Fresh value, else stale value plus a background refresh, else one shared load."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None:
            if now < entry.fresh_until:
                self._entries.move_to_end(key)
                self.stats.hits += 1
                return entry.value
            if now < entry.stale_until:
                self._entries.move_to_end(key)
                self.stats.stale += 1
                self._refresh_in_background(key, loader)
                return entry.value
            del self._entries[key]  # too old to serve
        self.stats.misses += 1
        return await self._flight.run(key, lambda: self._load(key, loader))

    def peek(self, key: str) -> V | None:
        """What `get` would return without loading (fresh or stale), else None; no side effects."""
        entry = self._entries.get(key)
        if entry is None or self._clock() >= entry.stale_until:
            return None
        return entry.value

    def set(self, key: str, value: V) -> None:
        """Store `value` now; it also beats any load for `key` already in flight (newest wins)."""
        self._loading.pop(key, None)
        self._store(key, value)

    def mark_stale(self, key: str) -> bool:
        """The value is out of date but still worth showing: the next ``get`` serves it and
        starts one refresh (stale-while-revalidate) instead of making the caller wait, or fail
        when the loader's source is down. A load already in flight is ignored (it began before
        the change). True if there was an entry."""
        self._loading.pop(key, None)
        self._flight.forget(key)
        entry = self._entries.get(key)
        if entry is None:
            return False
        now = self._clock()
        self._entries[key] = _Entry(
            entry.value, entry.stored_at, min(entry.fresh_until, now), entry.stale_until
        )
        return True

    def invalidate(self, key: str) -> bool:
        """Drop `key` and the result of any load in flight for it; True if an entry was removed."""
        self._loading.pop(key, None)
        self._flight.forget(key)
        removed = self._entries.pop(key, None) is not None
        if removed:
            self.stats.invalidations += 1
        return removed

    def invalidate_prefix(self, prefix: str) -> int:
        """Drop keys starting with `prefix`, and their loads in flight; returns entries removed."""
        for key in [k for k in self._loading if k.startswith(prefix)]:
            del self._loading[key]
            self._flight.forget(key)
        keys = [k for k in self._entries if k.startswith(prefix)]
        for key in keys:
            del self._entries[key]
        self.stats.invalidations += len(keys)
        return len(keys)

    def clear(self) -> None:
        for key in self._loading:
            self._flight.forget(key)
        self._loading.clear()
        self.stats.invalidations += len(self._entries)
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[tuple[str, float]]:
        """(key, age in seconds) per entry, least recently used first, for `/admin status`."""
        now = self._clock()
        return [(key, max(0.0, now - entry.stored_at)) for key, entry in self._entries.items()]

    async def close(self) -> None:
        """Cancel loads and background refreshes so none outlives the bot."""
        self._loading.clear()
        await self._flight.close()

    def _refresh_in_background(self, key: str, loader: Callable[[], Awaitable[V]]) -> None:
        if self._flight.in_flight(key):
            return  # one refresh per key at a time
        task = self._flight.start(key, lambda: self._load(key, loader))
        task.add_done_callback(lambda done: self._log_refresh_failure(key, done))

    def _log_refresh_failure(self, key: str, task: asyncio.Task[V]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "cache %s: refreshing %r failed, still serving the stale value: %r",
                self.name,
                key,
                task.exception(),
            )

    async def _load(self, key: str, loader: Callable[[], Awaitable[V]]) -> V:
        token = object()
        self._loading[key] = token
        self.stats.loads += 1
        try:
            value = await loader()
        except Exception:
            self.stats.load_failures += 1
            raise  # never stored: the next get loads again
        else:
            if self._loading.get(key) is token:
                self._store(key, value)
            return value
        finally:
            if self._loading.get(key) is token:
                del self._loading[key]

    def _store(self, key: str, value: V) -> None:
        now = self._clock()
        ttl = self.ttl * (1 + self._random.uniform(-self.jitter, self.jitter))
        self._entries[key] = _Entry(value, now, now + ttl, now + ttl + self.stale_ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)
            self.stats.evictions += 1


class HotCache:
    """The bot's one cache registry: named snapshot slots and TTL caches, event-driven
    invalidation and a status description.

    Owned by the bot object (not a module global) so tests and several bots never share state.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._slots: dict[str, SnapshotSlot[Any]] = {}
        self._caches: dict[str, TTLCache[Any]] = {}

    def snapshot(self, name: str) -> SnapshotSlot[Any]:
        """The slot called `name`, created on first use (slots show wall-clock ages to users)."""
        slot = self._slots.get(name)
        if slot is None:
            slot = self._slots[name] = SnapshotSlot(name, clock=self._wall_clock)
        return slot

    def ttl_cache(self, name: str, ttl: float, **kwargs: Any) -> TTLCache[Any]:
        """The TTL cache called `name`; settings only apply when it is created by the first call."""
        cache = self._caches.get(name)
        if cache is None:
            kwargs.setdefault("clock", self._clock)
            cache = self._caches[name] = TTLCache(name, ttl, **kwargs)
        return cache

    def invalidate(self, key: str) -> int:
        """Clear the slot named `key` and drop `key` from every TTL cache; returns how many."""
        count = 0
        slot = self._slots.get(key)
        if slot is not None and slot.get() is not None:
            slot.clear()
            count += 1
        return count + sum(cache.invalidate(key) for cache in self._caches.values())

    def invalidate_prefix(self, prefix: str) -> int:
        """Clear slots whose name starts with `prefix` and matching keys in every TTL cache."""
        count = 0
        for name, slot in self._slots.items():
            if name.startswith(prefix) and slot.get() is not None:
                slot.clear()
                count += 1
        return count + sum(cache.invalidate_prefix(prefix) for cache in self._caches.values())

    def describe(self) -> list[dict[str, Any]]:
        """One dict per slot and cache, for `/admin status`."""
        items: list[dict[str, Any]] = []
        for name, slot in sorted(self._slots.items()):
            current = slot.get()
            items.append(
                {
                    "name": name,
                    "kind": "snapshot",
                    "entries": 0 if current is None else 1,
                    "age": slot.age(),
                    "version": 0 if current is None else current.version,
                }
            )
        for name, cache in sorted(self._caches.items()):
            ages = [age for _, age in cache.entries()]
            stats = cache.stats
            items.append(
                {
                    "name": name,
                    "kind": "ttl",
                    "entries": len(cache),
                    "oldest_age": max(ages, default=None),
                    "hits": stats.hits,
                    "misses": stats.misses,
                    "stale": stats.stale,
                    "loads": stats.loads,
                    "load_failures": stats.load_failures,
                    "evictions": stats.evictions,
                    "invalidations": stats.invalidations,
                }
            )
        return items

    async def close(self) -> None:
        await asyncio.gather(*(cache.close() for cache in self._caches.values()))
