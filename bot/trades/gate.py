"""The bot's global posting budget, handed out fairly between fan-outs.

Discord allows a bot 50 requests per second in all. Alert posts take a slot here right before
their request. Slots are handed out evenly at ``rate`` per second (0.96 of Discord's limit by
default; a slot handed out late lets the next one come a little early, so timer delays do not
lower the rate, yet never two at once), and never more than ``rate`` rounded up in any sliding
second: the bot runs
close to the limit without a 429, and because requests leave in a steady stream rather than in
bursts, the time they take to reach Discord cannot bunch more than the limit into one of
Discord's seconds.

When slots are short, who goes next matters: one trade followed in 5,000 channels must not make
an unrelated alert wait for all of them. Each post belongs to a *flow* (the trade its message
starts with); the next slot goes to the waiting flow that has had the fewest slots so far, the
older flow on a tie. Fan-outs are thus served round robin, and an alert of a new trade goes
within a slot or two whatever is queued. Inside a flow, follows go before whale and signal
posts (``priority`` 0 before 1), then first come, first served.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.trades.pacing import SlidingWindow, TokenBucket

log = logging.getLogger(__name__)

PRIORITIES = 2  # 0: follows; 1: whale and signal fan-outs


@dataclass
class _Flow:
    order: int  # arrival order of the flow, for ties
    served: int = 0
    waiting: list[deque[asyncio.Future[None]]] = field(
        default_factory=lambda: [deque() for _ in range(PRIORITIES)]
    )

    def next_waiter(self) -> tuple[asyncio.Future[None] | None, int]:
        """The next live waiter, and how many entries were taken off the queues for it."""
        taken = 0
        for queue in self.waiting:
            while queue:
                future = queue.popleft()
                taken += 1
                if not future.done():
                    return future, taken
        return None, taken

    def has_waiters(self) -> bool:
        return any(not f.done() for queue in self.waiting for f in queue)


class FairGate:
    """``rate`` slots per second, evenly, to the least-served flow first."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("the gate needs a positive rate")
        self._window = SlidingWindow(math.ceil(rate), 1.0)
        # A quarter of a slot to spare: a slot handed out a little late (timers wake late) lets
        # the next come that much early, so the rate holds, but never two slots at once.
        self._spread = TokenBucket(1.25, rate)
        self.rate = rate
        self._clock = clock
        self._flows: dict[str, _Flow] = {}
        self._arrivals = itertools.count()
        self._pump: asyncio.Task[None] | None = None
        self._queued = 0  # entries in the flows' queues (cancelled ones until popped)
        self._paused_until = 0.0
        self.granted = 0
        self.waited = 0  # slots that were not free at once

    def waiting(self) -> int:
        return sum(
            1 for flow in self._flows.values() for q in flow.waiting for f in q if not f.done()
        )

    def pause(self, seconds: float) -> None:
        """Discord said the bot as a whole is over its limit (a global 429): hold every slot."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, flow: str, priority: int = 0) -> None:
        """Wait for a slot. A free slot with nobody waiting is taken at once."""
        now = self._clock()
        if not self._queued and self._wait(now) <= 0:
            self._grant(now)
            return
        self.waited += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = self._flows.get(flow)
        if entry is None:
            entry = self._flows[flow] = _Flow(next(self._arrivals))
        entry.waiting[min(max(priority, 0), PRIORITIES - 1)].append(future)
        self._queued += 1
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run(), name="alert-gate")
        await future

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        for flow in self._flows.values():
            for queue in flow.waiting:
                for future in queue:
                    future.cancel()
        self._flows.clear()
        self._queued = 0

    async def _run(self) -> None:
        """Hand out slots while anyone waits; forget the flows' counts once nobody does."""
        while True:
            now = self._clock()
            wait = self._wait(now)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            chosen = self._next_flow()
            if chosen is None:
                self._flows.clear()
                self._queued = 0
                return
            future, taken = chosen.next_waiter()
            self._queued -= taken
            if future is None:
                continue
            self._grant(self._clock())
            chosen.served += 1
            future.set_result(None)
            await asyncio.sleep(0)  # let the granted post start before the next grant

    def _wait(self, now: float) -> float:
        return max(self._window.wait(now), self._spread.wait(now), self._paused_until - now)

    def _grant(self, now: float) -> None:
        self._window.record(now)
        self._spread.take(now)
        self.granted += 1

    def _next_flow(self) -> _Flow | None:
        best: _Flow | None = None
        for name, flow in list(self._flows.items()):
            if not flow.has_waiters():
                if flow.served == 0:
                    del self._flows[name]
                continue
            if best is None or (flow.served, flow.order) < (best.served, best.order):
                best = flow
        return best
