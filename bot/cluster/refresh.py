"""``/admin refresh`` asked on a process that is not the leader: the leader runs it.

Only the leader talks to Polymarket and writes boards, so a follower publishes a
:class:`RefreshRequested` and waits for the leader's :class:`RefreshFinished`; it then reloads
the new boards before answering, so the admin's next ``/leaderboard`` in that guild shows them.
With no answer in time (no leader at the moment, or a long first refresh) the follower says the
refresh is queued: a new leader refreshes as soon as it is elected.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from bot.admin import RefreshOutcome, RefreshQueued, RefreshTarget
from bot.events import EventBus, RefreshFinished, RefreshRequested
from bot.leaderboard.service import RefreshReport

log = logging.getLogger(__name__)


class RefreshFailedOnLeader(RuntimeError):
    """The leader ran the refresh and it failed (the previous boards stay served)."""


def finished_event(request_id: str, outcome: RefreshOutcome) -> RefreshFinished:
    report = outcome.report
    return RefreshFinished(
        request_id=request_id,
        error=None,
        duration=report.duration,
        trader_count=report.trader_count,
        rows_written=report.rows_written,
        periods_ok=report.periods_ok,
        periods_failed=dict(report.periods_failed),
        details_fetched=report.details_fetched,
        joined=outcome.joined,
        markets_outcome=outcome.markets_outcome,
        positions_outcome=outcome.positions_outcome,
    )


def failed_event(request_id: str, error: str) -> RefreshFinished:
    return RefreshFinished(request_id, error, 0.0, 0, 0, (), {}, 0, False, None, None)


def outcome_of(event: RefreshFinished, waited: float) -> RefreshOutcome:
    report = RefreshReport(
        duration=event.duration,
        trader_count=event.trader_count,
        rows_written=event.rows_written,
        periods_ok=tuple(event.periods_ok),
        periods_failed=dict(event.periods_failed),
        details_fetched=event.details_fetched,
    )
    return RefreshOutcome(
        report=report,
        joined=event.joined,
        waited=waited,
        markets_outcome=event.markets_outcome,
        positions_outcome=event.positions_outcome,
    )


class RefreshRelay:
    def __init__(
        self,
        bus: EventBus,
        *,
        is_leader: Callable[[], bool],
        run: Callable[[RefreshTarget], Awaitable[RefreshOutcome]],
        after_finished: Callable[[], Awaitable[object]],
        wait_seconds: float = 30.0,
    ) -> None:
        self._bus = bus
        self._is_leader = is_leader
        self._run = run
        self._after_finished = after_finished
        self.wait_seconds = wait_seconds
        self._waiting: dict[str, asyncio.Future[RefreshFinished]] = {}
        bus.subscribe(RefreshRequested, self._on_requested)
        bus.subscribe(RefreshFinished, self._on_finished)

    async def request(self, target: RefreshTarget) -> RefreshOutcome:
        """Have the leader refresh; raises RefreshQueued when it does not answer in time."""
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        try:
            self._bus.publish(RefreshRequested(request_id=request_id, target=target.value))
            async with asyncio.timeout(self.wait_seconds):
                finished = await waiter
        except TimeoutError:
            raise RefreshQueued(
                f"no answer from the leader within {self.wait_seconds:g} s"
            ) from None
        finally:
            self._waiting.pop(request_id, None)
        if finished.error is not None:
            raise RefreshFailedOnLeader(finished.error)
        await self._after_finished()  # the new boards are in this process's memory now
        return outcome_of(finished, time.perf_counter() - started)

    async def _on_requested(self, event: RefreshRequested) -> None:
        if event.request_id in self._waiting or not self._is_leader():
            return  # our own request, or not ours to run
        log.info("running /admin refresh %s asked on another process", event.target)
        try:
            outcome = await self._run(RefreshTarget(event.target))
        except Exception as exc:
            self._bus.publish(failed_event(event.request_id, f"{type(exc).__name__}: {exc}"))
            return
        self._bus.publish(finished_event(event.request_id, outcome))

    async def _on_finished(self, event: RefreshFinished) -> None:
        waiter = self._waiting.get(event.request_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(event)
