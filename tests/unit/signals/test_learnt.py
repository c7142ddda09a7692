"""Facts learnt once: memory, then storage, then one coalesced, rate-limited lookup; a miss is
kept for a while, a failure never."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiolimiter import AsyncLimiter

from bot.signals.learnt import LearntOnce


class Upstream:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.stored: dict[str, int] = {"kept": 7}
        self.fail = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def load(self, keys: Sequence[str]) -> dict[str, int]:
        return {k: self.stored[k] for k in keys if k in self.stored}

    async def fetch(self, key: str) -> int | None:
        self.calls.append(key)
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("upstream down")
        return None if key.startswith("unknown") else len(key)

    async def store(self, key: str, value: int) -> None:
        self.stored[key] = value


def learnt(
    up: Upstream, *, clock: list[float] | None = None, rate: float = 1000
) -> LearntOnce[int]:
    now = clock or [0.0]
    return LearntOnce(
        "test", load_stored=up.load, fetch=up.fetch, store=up.store,
        limiter=AsyncLimiter(rate, 1.0), unknown_ttl=60, clock=lambda: now[0],
    )  # fmt: skip


async def test_memory_then_storage_then_one_lookup() -> None:
    up = Upstream()
    facts = learnt(up)
    assert await facts.get_many(["kept", "abc"]) == {"kept": 7, "abc": 3}
    assert up.calls == ["abc"] and up.stored["abc"] == 3
    assert await facts.get_many(["abc", "kept"]) == {"abc": 3, "kept": 7}
    assert up.calls == ["abc"] and facts.stats.hits == 2 and facts.peek("abc") == 3


async def test_concurrent_callers_share_one_lookup() -> None:
    up = Upstream()
    up.gate.clear()
    facts = learnt(up)
    waiting = [asyncio.create_task(facts.get_many(["same"])) for _ in range(20)]
    await asyncio.sleep(0.01)
    up.gate.set()
    assert all(r == {"same": 4} for r in await asyncio.gather(*waiting))
    assert up.calls == ["same"]


async def test_an_unknown_key_is_not_asked_again_for_a_while() -> None:
    up, clock = Upstream(), [0.0]
    facts = learnt(up, clock=clock)
    assert await facts.get_many(["unknown-1"]) == {}
    assert await facts.get_many(["unknown-1"]) == {}
    assert up.calls == ["unknown-1"]
    clock[0] = 61.0
    await facts.get_many(["unknown-1"])
    assert up.calls == ["unknown-1", "unknown-1"]


async def test_a_failure_is_never_kept() -> None:
    up = Upstream()
    up.fail = True
    facts = learnt(up)
    assert await facts.get_many(["abc"]) == {}
    up.fail = False
    assert await facts.get_many(["abc"]) == {"abc": 3}
    assert facts.stats.failures == 1 and up.calls == ["abc", "abc"]


async def test_lookups_are_rate_limited() -> None:
    up = Upstream()
    facts = learnt(up, rate=5)
    started = asyncio.get_running_loop().time()
    await facts.get_many([f"key{n}" for n in range(10)])
    assert asyncio.get_running_loop().time() - started >= 0.8  # 5 at once, then 5 per second
    assert len(up.calls) == 10


async def test_a_timed_out_caller_leaves_the_lookup_running_for_the_next() -> None:
    up = Upstream()
    up.gate.clear()
    facts = learnt(up)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(facts.get_many(["slow"]), 0.01)
    up.gate.set()
    await asyncio.sleep(0.01)
    assert facts.peek("slow") == 4 and up.calls == ["slow"]


async def test_learning_in_the_background_is_joined_by_a_later_caller() -> None:
    up = Upstream()
    up.gate.clear()
    facts = learnt(up)
    facts.learn_soon(["abc", "kept"])
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(facts.get_many(["abc"]))
    await asyncio.sleep(0.01)
    up.gate.set()
    assert await waiting == {"abc": 3}
    assert up.calls == ["abc"] and facts.peek("kept") == 7  # stored: no lookup
    facts.learn_soon(["abc"])  # known: nothing started
    await facts.close()


async def test_a_key_being_looked_up_is_not_read_from_storage_again() -> None:
    # Every batch the writer stores asks for its markets and wallets; while a lookup waits for
    # the rate limiter (or a slow upstream), later batches join it instead of asking PostgreSQL
    # again for a key it was just found not to hold.
    up = Upstream()
    up.gate.clear()
    loads: list[list[str]] = []
    original = up.load

    async def counting_load(keys: Sequence[str]) -> dict[str, int]:
        loads.append(list(keys))
        return await original(keys)

    up.load = counting_load  # type: ignore[method-assign]
    facts = learnt(up)
    facts.learn_soon(["slow"])
    await asyncio.sleep(0.01)
    assert loads == [["slow"]] and up.calls == ["slow"]
    for _ in range(3):
        facts.learn_soon(["slow"])  # a lookup in flight: nothing started
    waiting = asyncio.create_task(facts.get_many(["slow", "kept"]))
    await asyncio.sleep(0.01)
    assert loads == [["slow"], ["kept"]]  # only the key not being looked up is read
    up.gate.set()
    assert await waiting == {"slow": 4, "kept": 7}
    assert up.calls == ["slow"]
    await facts.close()
