"""The global posting budget: never more than the limit per second, and fair between fan-outs."""

from __future__ import annotations

import asyncio

from bot.trades.gate import FairGate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_free_slot_goes_at_once_and_slots_are_spread_evenly() -> None:
    clock = Clock()
    gate = FairGate(30, clock=clock)  # 30/s, one at a time
    await asyncio.wait_for(gate.acquire("trade-a"), 0.1)
    assert gate.granted == 1 and gate.waited == 0
    second = asyncio.create_task(gate.acquire("trade-a"))
    await asyncio.sleep(0.01)
    assert not second.done()  # the next slot is a thirtieth of a second away
    clock.now += 1 / 30 + 1e-6
    await asyncio.wait_for(second, 1)
    assert gate.waited == 1
    clock.now += 1.0
    await asyncio.wait_for(gate.acquire("trade-b"), 0.1)  # room again: at once
    assert gate.waited == 1
    await gate.close()


async def test_never_more_than_the_limit_in_any_period() -> None:
    clock = Clock()
    gate = FairGate(10, clock=clock)
    granted: list[float] = []

    async def post() -> None:
        await gate.acquire("fan-out")
        granted.append(clock.now)

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.001)
            clock.now += 0.013

    ticker = asyncio.create_task(tick())
    await asyncio.wait_for(asyncio.gather(*(post() for _ in range(40))), 10)
    ticker.cancel()
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(granted, granted[10:], strict=False))
    await gate.close()


async def test_an_unrelated_flow_goes_before_the_rest_of_a_big_fan_out() -> None:
    clock = Clock()
    gate = FairGate(100, clock=clock)  # real sleeps of 10 ms between grants
    order: list[str] = []

    async def post(flow: str, priority: int = 0) -> None:
        await gate.acquire(flow, priority)
        order.append(flow)

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.01)
            clock.now += 0.011

    ticker = asyncio.create_task(tick())
    fan_out = [asyncio.create_task(post("fan-out")) for _ in range(20)]
    await asyncio.sleep(0.05)
    late = asyncio.create_task(post("unrelated"))
    await asyncio.wait_for(asyncio.gather(*fan_out, late), 5)
    ticker.cancel()
    # The unrelated post is granted within a slot or two of arriving, not after the 20.
    assert order.index("unrelated") < 10
    await gate.close()


async def test_follows_go_before_whale_posts_of_the_same_trade() -> None:
    gate = FairGate(200)  # the real clock: one slot per 5 ms
    await gate.acquire("warm-up")  # the window is full: everything below waits
    order: list[int] = []

    async def post(priority: int) -> None:
        await gate.acquire("trade", priority)
        order.append(priority)

    tasks = [asyncio.create_task(post(p)) for p in (1, 1, 0, 1, 0)]
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order == [0, 0, 1, 1, 1]
    await gate.close()


async def test_a_global_429_holds_every_slot() -> None:
    clock = Clock()
    gate = FairGate(10, clock=clock)
    gate.pause(0.05)
    waiting = asyncio.create_task(gate.acquire("x"))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    clock.now += 0.06
    await asyncio.wait_for(waiting, 1)
    await gate.close()
