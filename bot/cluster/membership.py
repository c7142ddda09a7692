"""Who is in the cluster: each process's heartbeat row, and the last view of all of them.

Every process refreshes its row every ``interval`` seconds through the pool and reads everyone's
in the same visit, so ``/admin status`` on any process lists the members, the leader and the
stale ones (no beat for three intervals: killed, or cut off from PostgreSQL) from memory. A
process deletes its row when it stops; a killed one's row is forgotten after a day, by the
first beat and then by at most one beat an hour (a day-old row is no more urgent than that).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg

from bot.cluster.models import ClusterView, Identity
from bot.workers import Role, WorkerStatus, cancel_and_wait, wait_for_event
from db import cluster_queries as queries

log = logging.getLogger(__name__)

FORGET_AFTER = 86_400.0
FORGET_EVERY = 3_600.0


class Membership:
    """A worker of every process (see the module docstring)."""

    name = "cluster-heartbeat"
    role = Role.EVERY_PROCESS

    def __init__(
        self,
        pool: asyncpg.Pool,
        identity: Identity,
        current_role: Callable[[], str],
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (seconds) times the hourly forget; tests move it instead of waiting."""
        self._pool = pool
        self.identity = identity
        self._current_role = current_role
        self.interval = interval
        self.view = ClusterView(me=identity.process_id)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._clock = clock
        self._forgot_at: float | None = None  # when the day-old rows were last deleted
        self.queries = 0
        self.failures = 0

    def status(self) -> WorkerStatus:
        detail = f"{len(self.view.members)} members"
        return WorkerStatus(self.name, self.role, self._task is not None, detail)

    async def start(self) -> None:
        if self._task is None:
            await self.beat()
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    def beat_soon(self) -> None:
        """Write the row now (the role changed)."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        try:
            async with asyncio.timeout(2.0), self._pool.acquire() as conn:
                await queries.leave(conn, self.identity.process_id)
        except Exception as exc:
            log.warning("could not remove this process from cluster_members: %s", exc)

    async def _loop(self) -> None:
        while True:
            await wait_for_event(self._wake, self.interval)
            self._wake.clear()
            await self.beat()

    async def beat(self) -> None:
        """Refresh this row, forget day-old ones when due, and read everyone's; a failure is
        logged (the status shows it)."""
        me = self.identity
        try:
            async with self._pool.acquire() as conn:
                self.queries += 1
                await queries.beat(conn, me, self._current_role())
                if self._forget_due():
                    self.queries += 1
                    await queries.forget_members(conn, FORGET_AFTER)
                    self._forgot_at = self._clock()
                self.queries += 1
                members = await queries.members(conn, stale_after=3 * self.interval)
        except Exception as exc:
            self.failures += 1
            log.warning("cluster heartbeat failed: %s", exc)
            return
        self.view = ClusterView(me=me.process_id, members=members, read_at=time.time())

    def _forget_due(self) -> bool:
        return self._forgot_at is None or self._clock() - self._forgot_at >= FORGET_EVERY
