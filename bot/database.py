"""Database work on a command's path: bounded in time, and honest when PostgreSQL is away.

Discord gives a command 3 s to answer. A read that waits on a stopped or frozen PostgreSQL
(asyncpg's own timeout is 30 s, a connect 60 s) would let it expire, so every read or write a
command makes goes through ``DatabaseGuard.run``: after ``COMMAND_DB_SECONDS`` the command gets
``DatabaseUnavailable`` and answers from memory (with a staleness note) or with one sentence.

The timed-out work is cancelled but not awaited: cleaning up a connection to a frozen server
can itself hang (asyncpg sends a cancel request and resets the connection), and the command
must not wait for that. The guard keeps a reference until it ends and retrieves its error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from bot.errors import UserError

log = logging.getLogger(__name__)

T = TypeVar("T")
COMMAND_DB_SECONDS = 2.0  # leaves a second of Discord's 3 s for the answer itself
RECENT_SECONDS = 60.0  # a failure this recent (and no success since) makes answers "from memory"

DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # the connection is gone or closed
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
)


class DatabaseUnavailable(UserError):
    """PostgreSQL did not answer a command in time; the message is for the user."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "The bot's database is not answering right now; try again in a minute."
        )


class DatabaseGuard:
    """Runs a command's database work with a deadline and remembers how PostgreSQL is doing."""

    def __init__(
        self, timeout: float = COMMAND_DB_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout = timeout
        self._clock = clock
        self._abandoned: set[asyncio.Future[Any]] = set()
        self.failures = 0
        self.last_failure_at: float | None = None
        self.last_success_at: float | None = None

    @property
    def unavailable(self) -> bool:
        """PostgreSQL failed a command lately and has not answered one since."""
        failed = self.last_failure_at
        if failed is None or self._clock() - failed > RECENT_SECONDS:
            return False
        return self.last_success_at is None or self.last_success_at < failed

    async def run(self, work: Callable[[], Awaitable[T]], what: str) -> T:
        """``work()`` within the deadline, else ``DatabaseUnavailable`` (``what`` is logged)."""
        task = asyncio.ensure_future(work())
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout)
        except asyncio.CancelledError:
            self._abandon(task)
            raise
        if not done:
            self._abandon(task)
            self._failed(what, f"no answer within {self.timeout:g}s")
            raise DatabaseUnavailable()
        try:
            result = task.result()
        except DATABASE_ERRORS as exc:
            self._failed(what, f"{type(exc).__name__}: {exc}")
            raise DatabaseUnavailable() from exc
        self.last_success_at = self._clock()
        return result

    def _failed(self, what: str, reason: str) -> None:
        self.failures += 1
        first = not self.unavailable
        self.last_failure_at = self._clock()
        if first:  # one line per outage, not one per command
            log.warning("database unavailable for %s (%s); answering from memory", what, reason)

    def _abandon(self, task: asyncio.Future[Any]) -> None:
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: never "exception was never retrieved"
