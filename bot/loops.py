"""Background loops that log (never die on) a failed iteration and report their health.

discord.py's ``tasks.loop`` stops for good on an unexpected exception and has no notion of
backoff or "run now"; this small runner gives both, plus the status ``/admin status`` shows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.failures import describe, failure_kind
from bot.workers import LoopStatus, Role, WorkerStatus, cancel_and_wait

log = logging.getLogger(__name__)


class PeriodicTask:
    """Runs ``body`` every ``interval`` seconds; after failures waits longer (capped backoff).

    A ``Worker`` (bot/workers.py): the application registers it with its role."""

    def __init__(
        self,
        name: str,
        interval: float,
        body: Callable[[], Awaitable[object]],
        *,
        role: Role = Role.LEADER,
        max_backoff: float = 600.0,
        run_first_immediately: bool = True,
    ) -> None:
        self.name = name
        self.role = role
        self.interval = interval
        self._body = body
        self._max_backoff = max(max_backoff, interval)
        self._run_first = run_first_immediately
        self._lock = asyncio.Lock()  # the loop and an admin's "run now" never overlap
        self._task: asyncio.Task[None] | None = None
        self.loop_status = LoopStatus(name=name, interval=interval)

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self.loop_status.next_run_at = None

    def status(self) -> WorkerStatus:
        return WorkerStatus(self.name, self.role, self.is_running, loop=self.loop_status)

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _delay(self) -> float:
        failures = self.loop_status.consecutive_failures
        if failures == 0:
            return self.interval
        return min(self._max_backoff, self.interval * 2.0 ** min(failures, 10))

    async def run_once(self) -> bool:
        """One iteration with bookkeeping; returns whether it succeeded. Never raises."""
        async with self._lock:
            return await self._run_once()

    async def _run_once(self) -> bool:
        status = self.loop_status
        status.running = True
        status.last_started_at = time.time()
        started = time.perf_counter()
        try:
            await self._body()
        except asyncio.CancelledError:
            status.running = False
            raise
        except Exception as exc:
            status.consecutive_failures += 1
            status.failures += 1
            status.last_outcome = "failed"
            status.last_error = f"{type(exc).__name__}: {exc}"[:300]
            self._log_failure(exc)
            ok = False
        else:
            status.consecutive_failures = 0
            status.last_outcome = "ok"
            status.last_error = None
            ok = True
        status.runs += 1
        status.last_duration = time.perf_counter() - started
        status.running = False
        return ok

    def _log_failure(self, exc: Exception) -> None:
        """One line per failed run; a traceback only for an unexpected error the first time in
        a row (a database or upstream outage has nothing a traceback would add)."""
        failures = self.loop_status.consecutive_failures
        kind = failure_kind(exc)
        if kind == type(exc).__name__ and failures == 1:
            log.exception("loop %s iteration failed", self.name)
            return
        log.warning(
            "loop %s iteration failed (%d in a row, %s): %s",
            self.name,
            failures,
            kind,
            describe(exc),
        )

    async def _loop(self) -> None:
        if not self._run_first:
            await self._sleep(self.interval)
        while True:
            await self.run_once()
            await self._sleep(self._delay())

    async def _sleep(self, delay: float) -> None:
        self.loop_status.next_run_at = time.time() + delay
        await asyncio.sleep(delay)
