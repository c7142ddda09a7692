"""Background work behind one small interface, owned by one registry.

Every long-lived piece of background work (the periodic loops, the trade stream, the ingest
writer, the alert dispatcher, the order writer) is a ``Worker``: it can be started and stopped,
it describes itself for ``/admin status``, and it has a role. ``Role.LEADER`` work (anything
that talks to Polymarket or writes shared state) runs in one process of a deployment;
``Role.EVERY_PROCESS`` work runs in each. The application registers workers in the order they
must start and the registry stops them in reverse, so "what starts the order sync, and what
stops it?" has one answer: ``bot/app.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar, runtime_checkable

log = logging.getLogger(__name__)


class Role(StrEnum):
    EVERY_PROCESS = "every process"
    LEADER = "leader"


@dataclass
class LoopStatus:
    """A periodic loop's health: last run, its outcome, failures in a row, next run."""

    name: str
    interval: float
    runs: int = 0
    last_started_at: float | None = None
    last_duration: float | None = None
    last_outcome: str = "never run"
    last_error: str | None = None
    consecutive_failures: int = 0
    failures: int = 0  # since start (for /metrics)
    next_run_at: float | None = None
    running: bool = False


@dataclass(frozen=True)
class WorkerStatus:
    """What ``/admin status`` shows of a worker; ``loop`` only for periodic loops."""

    name: str
    role: Role
    running: bool
    detail: str = ""
    loop: LoopStatus | None = None


@runtime_checkable
class Worker(Protocol):
    name: str
    role: Role

    async def start(self) -> None:
        """Begin working in the background; returns at once."""
        ...

    async def stop(self) -> None:
        """Finish or abandon the work in flight (each worker says which) and return."""
        ...

    def status(self) -> WorkerStatus: ...


W = TypeVar("W")


class WorkerRegistry:
    """The application's workers, in start order."""

    def __init__(self) -> None:
        self._workers: list[Worker] = []
        self._started: list[Worker] = []

    def add(self, worker: Worker) -> None:
        if any(w.name == worker.name for w in self._workers):
            raise ValueError(f"two workers are called {worker.name!r}")
        self._workers.append(worker)

    def all(self) -> list[Worker]:
        return list(self._workers)

    def find(self, kind: type[W]) -> W:
        """The one registered worker of this class (typed, so callers name no strings)."""
        found = [w for w in self._workers if isinstance(w, kind)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} workers of type {kind.__name__}")
        return found[0]

    def with_role(self, role: Role) -> list[Worker]:
        return [w for w in self._workers if w.role is role]

    def statuses(self) -> list[WorkerStatus]:
        return [w.status() for w in self._workers]

    async def start(self, roles: Iterable[Role] = tuple(Role)) -> None:
        """Start the workers of these roles that are not running yet, in registration order."""
        wanted = set(roles)
        for worker in self._workers:
            if worker.role in wanted and worker not in self._started:
                await worker.start()
                self._started.append(worker)
                log.debug("started worker %s", worker.name)

    async def stop(self, roles: Iterable[Role] = tuple(Role)) -> None:
        """Stop the started workers of these roles in reverse start order; one failing to stop
        never keeps the others running."""
        wanted = set(roles)
        for worker in reversed(list(self._started)):
            if worker.role not in wanted:
                continue
            try:
                await worker.stop()
            except Exception:
                log.exception("stopping worker %s failed", worker.name)
            self._started.remove(worker)


async def wait_for_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; whether it was set. A worker's sleep
    that can be cut short. Unlike ``asyncio.wait_for`` on Python 3.11, a cancellation that
    arrives just as the event is set is never swallowed (a worker's stop would hang)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a worker's task and wait until it has finished (its ``finally`` blocks ran), so
    a stopped worker leaves nothing running behind it; an error it ended with is raised here.

    If the caller is itself cancelled meanwhile, the worker is not cancelled a second time (that
    would cut its cleanup short): it is still waited for (so a caller under ``asyncio.timeout``
    may return after its deadline, by the worker's cleanup), its error is logged, then the
    caller's cancellation goes on. (A bare ``await task`` did both wrong: it re-cancelled the
    worker, and the suppressed ``CancelledError`` was the caller's too, so the caller carried on
    as if never cancelled.)"""
    if task is None:
        return
    task.cancel()
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        await asyncio.wait({task})  # a second cancellation of the caller ends this wait
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s ended with an error while stopping", task.get_name(), exc_info=error)
        raise
    if not task.cancelled() and (error := task.exception()) is not None:
        raise error


async def run_together(work: Iterable[Awaitable[None]]) -> None:
    """Run ``work`` side by side; return, or raise, only once every part of it has ended.

    Why not a bare ``asyncio.gather``: when the caller is cancelled or one part fails, gather
    raises as soon as the first part ends and leaves the others running unobserved. A cancelled
    copy-trading sync pass then returned while fills of other portfolios were still committing,
    so whatever came next (a restarted pass, a shutdown closing the pool, a check of the books)
    raced them.
    Here the others are cancelled, once (a part already stopping is left to finish its rollback
    or commit), and waited for; then the first failure, or the cancellation, is raised as is."""
    tasks = [asyncio.ensure_future(part) for part in work]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            if not task.done() and not task.cancelling():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
