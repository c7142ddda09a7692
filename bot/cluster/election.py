"""Leader election: a session-level advisory lock held on a connection of its own.

Whoever holds the lock runs the leader-role workers (loops, the trade stream, ingestion,
delivery). The lock lives exactly as long as the connection that took it, so PostgreSQL itself
hands it on: a killed leader's socket closes and the lock is free at once; a leader cut off by
the network is dropped by the server's TCP keepalives within ``dead_peer_seconds``.

The others try ``pg_try_advisory_lock`` every ``poll_interval`` (≤ 2 s) while their own pool
answers (a process that cannot reach PostgreSQL must not win and then fail). The leader checks
its lock connection and its pool every ``poll_interval``: a lock connection that dies or stays
silent for ``ping_timeout`` stops the leader workers at once (the lock may already be someone
else's); a pool that fails twice in a row releases the lock first, so another process takes
over while this one stops. A planned stop (SIGTERM) stops the workers first, flushing their
queues, then releases the lock and says so, so a follower takes over without waiting to poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot.cluster.connections import Connect
from bot.workers import Role, WorkerStatus, cancel_and_wait, wait_for_event
from db import cluster_queries as queries

log = logging.getLogger(__name__)


@dataclass
class ElectionStats:
    elections: int = 0  # times this process became the leader
    depositions: int = 0
    queries: int = 0  # coordination round trips on the lock connection and pool checks
    leader_since: float | None = None
    last_change_reason: str = ""


class LeaderElection:
    """A worker of every process: campaigns for the lock; while it holds it, the leader's
    workers run (``on_elected`` starts them, ``on_deposed`` stops them)."""

    name = "leader-election"
    role = Role.EVERY_PROCESS

    def __init__(
        self,
        connect: Connect,
        *,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        pool_healthy: Callable[[], Awaitable[bool]],
        on_resigned: Callable[[], None] = lambda: None,
        poll_interval: float = 1.0,
        ping_timeout: float = 2.0,
        dead_peer_seconds: int = 6,
    ) -> None:
        self._connect = connect
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._pool_healthy = pool_healthy
        self._on_resigned = on_resigned
        self.poll_interval = poll_interval
        self._ping_timeout = ping_timeout
        self._dead_peer_seconds = dead_peer_seconds
        self._conn: asyncpg.Connection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pool_failures = 0
        self.is_leader = False
        self.stats = ElectionStats()

    def status(self) -> WorkerStatus:
        state = "leader" if self.is_leader else "follower"
        return WorkerStatus(self.name, self.role, self._task is not None, state)

    async def start(self) -> None:
        """One campaign right away (a lone process is the leader when this returns), then the
        loop in the background."""
        if self._task is not None:
            return
        await self._tick()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    def campaign_now(self) -> None:
        """Try for the lock without waiting for the next poll (the leader resigned)."""
        self._wake.set()

    async def stop(self) -> None:
        """Planned stop: the leader's workers first (their queues flush while the pool works),
        then the lock is released and the others are told."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        was_leader = self.is_leader
        await self._depose("shutting down")
        await self._close_connection(graceful=True)
        if was_leader:
            self._on_resigned()

    # ---- the loop -------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            await wait_for_event(self._wake, self.poll_interval)
            self._wake.clear()
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the election must outlive any one failure
                log.exception("leader election step failed")

    async def _tick(self) -> None:
        if self.is_leader:
            await self._check_leadership()
        else:
            await self._campaign()

    async def _campaign(self) -> None:
        if not await self._pool_ok():
            return
        try:
            conn = await self._connection()
            self.stats.queries += 1
            async with asyncio.timeout(self._ping_timeout):
                won = await queries.try_lock(conn)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("leader election: cannot reach PostgreSQL (%s)", exc)
            await self._close_connection(graceful=False)
            return
        if won:
            await self._elect()

    async def _elect(self) -> None:
        self.is_leader = True
        self.stats.elections += 1
        self.stats.leader_since = time.time()
        self.stats.last_change_reason = "won the leader lock"
        log.info("this process is now the leader")
        try:
            await self._on_elected()
        except Exception:
            log.exception("starting the leader's work failed; giving the lock back")
            await self._depose("could not start the leader's work")
            await self._close_connection(graceful=True)

    async def _check_leadership(self) -> None:
        self.stats.queries += 1
        try:
            if self._conn is None:
                raise asyncpg.InterfaceError("no lock connection")
            async with asyncio.timeout(self._ping_timeout):
                await queries.ping(self._conn)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Closed (pg_terminate_backend, server gone) or silent (network cut): the lock may
            # be someone else's already, so the leader's work stops now.
            await self._close_connection(graceful=False)
            await self._depose(f"lost the lock connection ({type(exc).__name__}: {exc})")
            return
        if not await self._pool_ok() and self._pool_failures >= 2:
            # Release first: this process cannot do the leader's work, another one can.
            await self._close_connection(graceful=True)
            await self._depose("the connection pool is failing")

    async def _depose(self, reason: str) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        self.stats.depositions += 1
        self.stats.leader_since = None
        self.stats.last_change_reason = reason
        log.warning("this process is no longer the leader: %s", reason)
        await self._on_deposed()

    async def _pool_ok(self) -> bool:
        self.stats.queries += 1
        try:
            async with asyncio.timeout(self._ping_timeout):
                healthy = await self._pool_healthy()
        except Exception:
            healthy = False
        self._pool_failures = 0 if healthy else self._pool_failures + 1
        return healthy

    # ---- the lock connection --------------------------------------------------------------------

    async def _connection(self) -> asyncpg.Connection[Any]:
        if self._conn is None or self._conn.is_closed():
            async with asyncio.timeout(self._ping_timeout * 2):
                conn = await self._connect("polymarket-bot leader lock")
                try:
                    await queries.detect_dead_peers(conn, self._dead_peer_seconds)
                except BaseException:
                    conn.terminate()
                    raise
            conn.add_termination_listener(self._connection_lost)
            self._conn = conn
        return self._conn

    def _connection_lost(self, conn: object) -> None:
        """The socket closed under us (backend terminated, server gone): check at once."""
        if conn is self._conn and self.is_leader:
            self._wake.set()

    async def _close_connection(self, *, graceful: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        if graceful:
            try:
                async with asyncio.timeout(self._ping_timeout):
                    await conn.close()
                return
            except Exception as exc:
                log.info("closing the lock connection: %s", exc)
        conn.terminate()


class SoloLeader:
    """No DSN to open connections of our own (a test or benchmark that hands in only a pool):
    this process is alone, so it leads from start to stop. ``python -m bot`` always has a DSN
    and uses :class:`LeaderElection`, embedded database included."""

    name = "leader-election"
    role = Role.EVERY_PROCESS

    def __init__(
        self,
        *,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
    ) -> None:
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self.is_leader = False
        self.stats = ElectionStats()

    def status(self) -> WorkerStatus:
        return WorkerStatus(self.name, self.role, self.is_leader, "alone: always the leader")

    async def start(self) -> None:
        if not self.is_leader:
            self.is_leader = True
            self.stats.elections += 1
            self.stats.leader_since = time.time()
            await self._on_elected()

    def campaign_now(self) -> None:
        """Nothing to campaign for."""

    async def stop(self) -> None:
        if self.is_leader:
            self.is_leader = False
            self.stats.leader_since = None
            await self._on_deposed()
