"""Hot-cache behaviour: timing is driven by a fake clock and loaders are gated by events."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.cache import CacheStats, HotCache, SingleFlight, SnapshotSlot, TTLCache


class FakeClock:
    """A clock the test moves by hand, so expiry is exact and nothing sleeps."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Loader:
    """Counts calls, returns "v1", "v2", ... and can be held on a gate or made to fail."""

    def __init__(self, *, gate: asyncio.Event | None = None, error: Exception | None = None):
        self.calls = 0
        self.gate = gate
        self.error = error

    async def __call__(self) -> str:
        self.calls += 1
        call = self.calls
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"v{call}"


async def run_pending() -> None:
    """Let scheduled tasks (background refreshes, released loaders) run to completion."""
    for _ in range(10):
        await asyncio.sleep(0)


def make_cache(clock: FakeClock, **kwargs: object) -> TTLCache[str]:
    kwargs.setdefault("jitter", 0.0)
    return TTLCache("test", 10.0, clock=clock, **kwargs)  # type: ignore[arg-type]


# ---- SnapshotSlot ------------------------------------------------------------------------------


def test_snapshot_swap_versions_and_age() -> None:
    clock = FakeClock(500.0)
    slot: SnapshotSlot[list[int]] = SnapshotSlot("leaderboard:week", clock=clock)
    assert slot.name == "leaderboard:week"
    assert slot.get() is None
    assert slot.age() is None

    first = slot.swap([1, 2])
    assert (first.value, first.version, first.updated_at) == ([1, 2], 1, 500.0)
    assert slot.get() is first
    clock.advance(30)
    assert slot.age() == 30.0

    second = slot.swap([3], updated_at=520.0)
    assert second.version == 2
    assert slot.get() is second
    assert slot.age() == 10.0
    # a reader still holding the old snapshot sees it whole and unchanged
    assert (first.value, first.version) == ([1, 2], 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        second.version = 5  # type: ignore[misc]


def test_snapshot_clear_keeps_counting_versions() -> None:
    slot: SnapshotSlot[str] = SnapshotSlot("s", clock=FakeClock())
    slot.swap("a")
    slot.clear()
    assert slot.get() is None
    assert slot.age() is None
    assert slot.swap("b").version == 2


# ---- SingleFlight ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_single_flight_shares_one_call_and_keeps_nothing() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    gate = asyncio.Event()
    loader = Loader(gate=gate)
    waiters = [asyncio.create_task(flight.run("k", loader)) for _ in range(100)]
    await run_pending()
    assert flight.in_flight("k")
    assert not flight.in_flight("other")
    gate.set()
    assert await asyncio.gather(*waiters) == ["v1"] * 100
    assert loader.calls == 1
    assert not flight.in_flight("k")
    assert await flight.run("k", loader) == "v2"  # the result was not kept


@pytest.mark.asyncio
async def test_single_flight_failure_reaches_every_waiter_and_is_not_kept() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    gate = asyncio.Event()
    loader = Loader(gate=gate, error=RuntimeError("upstream down"))
    waiters = [asyncio.create_task(flight.run("k", loader)) for _ in range(5)]
    await run_pending()
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert loader.calls == 1
    loader.error = None
    assert await flight.run("k", loader) == "v2"


@pytest.mark.asyncio
async def test_single_flight_cancelled_waiter_does_not_cancel_the_others() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    gate = asyncio.Event()
    loader = Loader(gate=gate)
    waiters = [asyncio.create_task(flight.run("k", loader)) for _ in range(3)]
    await run_pending()
    waiters[0].cancel()
    await run_pending()
    assert flight.in_flight("k")
    gate.set()
    assert await waiters[1] == "v1"
    assert await waiters[2] == "v1"
    with pytest.raises(asyncio.CancelledError):
        await waiters[0]
    assert loader.calls == 1


@pytest.mark.asyncio
async def test_single_flight_close_cancels_in_flight_work() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    waiter = asyncio.create_task(flight.run("k", Loader(gate=asyncio.Event())))
    await run_pending()
    await flight.close()
    assert not flight.in_flight("k")
    with pytest.raises(asyncio.CancelledError):
        await waiter


# ---- TTLCache: hits, misses, expiry ------------------------------------------------------------


@pytest.mark.asyncio
async def test_ttl_hit_then_expiry_reloads() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    loader = Loader()
    assert await cache.get("k", loader) == "v1"
    clock.advance(9.9)
    assert await cache.get("k", loader) == "v1"
    clock.advance(0.1)  # age == ttl: expired, no stale window
    assert await cache.get("k", loader) == "v2"
    assert loader.calls == 2
    assert cache.stats == CacheStats(hits=1, misses=2, loads=2)


@pytest.mark.asyncio
async def test_ttl_concurrent_misses_share_one_load() -> None:
    cache = make_cache(FakeClock())
    gate = asyncio.Event()
    loader = Loader(gate=gate)
    waiters = [asyncio.create_task(cache.get("k", loader)) for _ in range(100)]
    await run_pending()
    gate.set()
    assert await asyncio.gather(*waiters) == ["v1"] * 100
    assert loader.calls == 1
    assert cache.peek("k") == "v1"
    assert (cache.stats.misses, cache.stats.loads) == (100, 1)


@pytest.mark.asyncio
async def test_ttl_failure_reaches_all_waiters_and_is_not_stored() -> None:
    cache = make_cache(FakeClock())
    gate = asyncio.Event()
    loader = Loader(gate=gate, error=RuntimeError("boom"))
    waiters = [asyncio.create_task(cache.get("k", loader)) for _ in range(4)]
    await run_pending()
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(cache) == 0
    assert cache.peek("k") is None
    loader.error = None
    assert await cache.get("k", loader) == "v2"  # the failure was not cached
    assert (cache.stats.loads, cache.stats.load_failures) == (2, 1)


@pytest.mark.asyncio
async def test_ttl_cancelled_caller_does_not_cancel_the_shared_load() -> None:
    cache = make_cache(FakeClock())
    gate = asyncio.Event()
    loader = Loader(gate=gate)
    first = asyncio.create_task(cache.get("k", loader))
    second = asyncio.create_task(cache.get("k", loader))
    await run_pending()
    first.cancel()
    gate.set()
    assert await second == "v1"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert cache.peek("k") == "v1"
    assert loader.calls == 1


# ---- TTLCache: stale-while-revalidate ----------------------------------------------------------


@pytest.mark.asyncio
async def test_stale_value_served_at_once_with_one_background_refresh() -> None:
    clock = FakeClock()
    cache = make_cache(clock, stale_ttl=20.0)
    loader = Loader()
    assert await cache.get("k", loader) == "v1"
    clock.advance(15)  # expired, inside the stale window
    loader.gate = asyncio.Event()  # hold the refresh so we can look while it runs
    for _ in range(5):
        assert await cache.get("k", loader) == "v1"  # no waiting on the refresh
    await run_pending()
    assert loader.calls == 2  # five stale reads, one refresh
    loader.gate.set()
    await run_pending()
    assert await cache.get("k", loader) == "v2"
    assert cache.stats == CacheStats(hits=1, misses=1, stale=5, loads=2)


@pytest.mark.asyncio
async def test_failing_refresh_keeps_serving_stale() -> None:
    clock = FakeClock()
    cache = make_cache(clock, stale_ttl=20.0)
    loader = Loader()
    await cache.get("k", loader)
    clock.advance(15)
    loader.error = RuntimeError("upstream down")
    assert await cache.get("k", loader) == "v1"
    await run_pending()
    assert cache.stats.load_failures == 1
    assert cache.peek("k") == "v1"
    assert await cache.get("k", loader) == "v1"  # still stale, and it tries again
    await run_pending()
    assert (loader.calls, cache.stats.load_failures) == (3, 2)


@pytest.mark.asyncio
async def test_beyond_the_stale_window_is_a_miss() -> None:
    clock = FakeClock()
    cache = make_cache(clock, stale_ttl=5.0)
    loader = Loader()
    await cache.get("k", loader)
    clock.advance(15)
    assert cache.peek("k") is None
    assert await cache.get("k", loader) == "v2"
    assert (cache.stats.misses, cache.stats.stale) == (2, 0)


@pytest.mark.asyncio
async def test_close_cancels_a_background_refresh() -> None:
    clock = FakeClock()
    cache = make_cache(clock, stale_ttl=20.0)
    loader = Loader()
    await cache.get("k", loader)
    clock.advance(15)
    loader.gate = asyncio.Event()
    await cache.get("k", loader)
    await run_pending()
    await cache.close()
    loader.gate.set()
    await run_pending()
    assert cache.peek("k") == "v1"  # the cancelled refresh stored nothing


# ---- TTLCache: jitter, bounds, invalidation ----------------------------------------------------


def test_jitter_spreads_expiry_within_bounds() -> None:
    clock = FakeClock()
    cache: TTLCache[int] = TTLCache("j", 100.0, jitter=0.1, clock=clock)
    for i in range(200):
        cache.set(f"k{i}", i)
    clock.advance(89.99)
    assert all(cache.peek(f"k{i}") == i for i in range(200))
    clock.advance(10.01)  # age 100: some expired, some not
    alive = sum(cache.peek(f"k{i}") is not None for i in range(200))
    assert 0 < alive < 200
    clock.advance(10.01)  # age 110.01: all past ttl * 1.1
    assert all(cache.peek(f"k{i}") is None for i in range(200))


def test_invalid_settings_are_rejected() -> None:
    for kwargs in ({"ttl": 0}, {"stale_ttl": -1}, {"max_size": 0}, {"jitter": 1.0}):
        settings: dict[str, float] = {"ttl": 1.0, **kwargs}
        ttl = settings.pop("ttl")
        with pytest.raises(ValueError):
            TTLCache("bad", ttl, **settings)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_lru_eviction_at_max_size() -> None:
    clock = FakeClock()
    cache = make_cache(clock, max_size=3)
    for key in ("a", "b", "c"):
        cache.set(key, key)
    assert await cache.get("a", Loader()) == "a"  # a hit makes "a" recently used
    cache.set("d", "d")
    assert [key for key, _ in cache.entries()] == ["c", "a", "d"]
    assert cache.peek("b") is None
    assert len(cache) == 3
    assert cache.stats.evictions == 1


def test_peek_set_entries_and_len() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    assert cache.peek("k") is None
    cache.set("k", "x")
    clock.advance(4)
    cache.set("j", "y")
    assert cache.peek("k") == "x"
    assert cache.entries() == [("k", 4.0), ("j", 0.0)]
    assert len(cache) == 2
    assert cache.stats == CacheStats()  # peek and set count nothing


def test_invalidate_key_prefix_and_clear() -> None:
    cache = make_cache(FakeClock())
    for key in ("trader:0xabc", "trader:0xabd", "trader:0xffff", "market:1"):
        cache.set(key, key)
    assert cache.invalidate("market:1") is True
    assert cache.invalidate("market:1") is False
    assert cache.invalidate_prefix("trader:0xab") == 2
    assert [key for key, _ in cache.entries()] == ["trader:0xffff"]
    cache.clear()
    assert len(cache) == 0
    assert cache.stats.invalidations == 4


@pytest.mark.asyncio
async def test_invalidation_during_a_load_discards_its_result() -> None:
    cache = make_cache(FakeClock())
    gate = asyncio.Event()
    loader = Loader(gate=gate)
    waiter = asyncio.create_task(cache.get("trader:0xabc", loader))
    await run_pending()
    assert cache.invalidate("trader:0xabc") is False  # nothing stored yet, but the load is marked
    gate.set()
    assert await waiter == "v1"  # the caller still gets its answer...
    assert cache.peek("trader:0xabc") is None  # ...but the pre-invalidation data is not kept
    assert await cache.get("trader:0xabc", loader) == "v2"


@pytest.mark.asyncio
async def test_prefix_invalidation_and_clear_during_loads_discard_results() -> None:
    cache = make_cache(FakeClock())
    gate = asyncio.Event()
    loader = Loader(gate=gate)
    a = asyncio.create_task(cache.get("trader:1", loader))
    b = asyncio.create_task(cache.get("market:1", loader))
    await run_pending()
    cache.invalidate_prefix("trader:")
    gate.set()
    await asyncio.gather(a, b)
    assert cache.peek("trader:1") is None
    assert cache.peek("market:1") is not None

    gate.clear()
    c = asyncio.create_task(cache.get("market:2", loader))
    await run_pending()
    cache.clear()
    gate.set()
    await c
    assert len(cache) == 0


@pytest.mark.asyncio
async def test_set_during_a_load_wins() -> None:
    cache = make_cache(FakeClock())
    gate = asyncio.Event()
    waiter = asyncio.create_task(cache.get("k", Loader(gate=gate)))
    await run_pending()
    cache.set("k", "newer")
    gate.set()
    assert await waiter == "v1"
    assert cache.peek("k") == "newer"


@pytest.mark.asyncio
async def test_invalidation_during_a_stale_refresh_discards_it() -> None:
    clock = FakeClock()
    cache = make_cache(clock, stale_ttl=20.0)
    loader = Loader()
    await cache.get("k", loader)
    clock.advance(15)
    loader.gate = asyncio.Event()
    assert await cache.get("k", loader) == "v1"
    await run_pending()
    assert cache.invalidate("k") is True
    loader.gate.set()
    await run_pending()
    assert cache.peek("k") is None


# ---- HotCache ---------------------------------------------------------------------------------


def test_hot_cache_registry_returns_the_same_objects() -> None:
    hot = HotCache(clock=FakeClock(), wall_clock=FakeClock())
    assert hot.snapshot("leaderboard:week") is hot.snapshot("leaderboard:week")
    traders = hot.ttl_cache("traders", 60.0, stale_ttl=30.0, max_size=5)
    assert hot.ttl_cache("traders", 1.0) is traders
    assert (traders.ttl, traders.stale_ttl, traders.max_size) == (60.0, 30.0, 5)


@pytest.mark.asyncio
async def test_hot_cache_uses_its_clocks() -> None:
    clock, wall = FakeClock(10.0), FakeClock(1_700_000_000.0)
    hot = HotCache(clock=clock, wall_clock=wall)
    assert hot.snapshot("s").swap("x").updated_at == 1_700_000_000.0
    cache = hot.ttl_cache("t", 5.0, jitter=0.0)
    await cache.get("k", Loader())
    clock.advance(3)
    assert cache.entries() == [("k", 3.0)]


def test_hot_cache_invalidate_by_key_and_prefix() -> None:
    hot = HotCache(clock=FakeClock(), wall_clock=FakeClock())
    hot.snapshot("leaderboard:week").swap("w")
    hot.snapshot("leaderboard:month").swap("m")
    hot.snapshot("leaderboard:all")  # empty: nothing to clear
    traders = hot.ttl_cache("traders", 60.0)
    positions = hot.ttl_cache("positions", 60.0)
    traders.set("trader:0xabc", 1)
    positions.set("trader:0xabc", 2)
    positions.set("trader:0xdef", 3)

    assert hot.invalidate("leaderboard:week") == 1
    assert hot.snapshot("leaderboard:week").get() is None
    assert hot.invalidate("trader:0xabc") == 2
    assert hot.invalidate("nothing") == 0
    assert hot.invalidate_prefix("leaderboard:") == 1
    assert hot.snapshot("leaderboard:month").get() is None
    assert hot.invalidate_prefix("trader:") == 1
    assert len(positions) == 0


@pytest.mark.asyncio
async def test_hot_cache_describe() -> None:
    clock, wall = FakeClock(), FakeClock(1_000.0)
    hot = HotCache(clock=clock, wall_clock=wall)
    hot.snapshot("leaderboard:week").swap("w")
    hot.snapshot("leaderboard:week").swap("w2")
    hot.snapshot("leaderboard:day")
    cache = hot.ttl_cache("traders", 60.0, jitter=0.0)
    await cache.get("a", Loader())
    clock.advance(5)
    await cache.get("a", Loader())
    await cache.get("b", Loader())
    wall.advance(7)

    items = {item["name"]: item for item in hot.describe()}
    assert items["leaderboard:week"] == {
        "name": "leaderboard:week",
        "kind": "snapshot",
        "entries": 1,
        "age": 7.0,
        "version": 2,
    }
    assert items["leaderboard:day"]["entries"] == 0
    assert items["leaderboard:day"]["age"] is None
    assert items["traders"] == {
        "name": "traders",
        "kind": "ttl",
        "entries": 2,
        "oldest_age": 5.0,
        "hits": 1,
        "misses": 2,
        "stale": 0,
        "loads": 2,
        "load_failures": 0,
        "evictions": 0,
        "invalidations": 0,
    }


@pytest.mark.asyncio
async def test_hot_cache_close_cancels_loads() -> None:
    hot = HotCache(clock=FakeClock(), wall_clock=FakeClock())
    cache = hot.ttl_cache("t", 5.0)
    waiter = asyncio.create_task(cache.get("k", Loader(gate=asyncio.Event())))
    await run_pending()
    await hot.close()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert len(cache) == 0


async def test_a_get_after_invalidation_does_not_join_the_older_load() -> None:
    cache: TTLCache[str] = TTLCache("t", ttl=60)
    release_old = asyncio.Event()

    async def old_loader() -> str:
        await release_old.wait()
        return "old"

    async def new_loader() -> str:
        return "new"

    old = asyncio.create_task(cache.get("k", old_loader))
    await asyncio.sleep(0)
    cache.invalidate("k")
    assert await cache.get("k", new_loader) == "new"
    release_old.set()
    assert await old == "old"  # its own caller still gets what it asked for
    assert cache.peek("k") == "new"  # but the older result is never stored
