"""The event bus across processes: cluster-wide events out over NOTIFY, in over LISTEN.

Outgoing events are queued and sent in order by one task through the pool, so a NOTIFY never
waits on the publisher and a LISTEN connection being re-established loses nothing we send. A
send that fails for a passing reason (PostgreSQL unreachable, shutting down, failing over, short
of resources, a rolled-back transaction: ``CONNECTION_ERRORS``) is retried until it goes; any
other error refuses that NOTIFY for good (sent again, it fails again), so it costs that event
alone, logged and counted, never every event behind it.
Incoming events arrive on a connection of their own that does nothing else; a notification
from this very process is recognised by its origin and skipped. That connection is checked
every ``ping_interval``; when it drops (closed by the server, ``pg_terminate_backend``, network)
it is re-established and followed by a full reload (``on_resync``), because PostgreSQL does
not keep notifications for a session that was not listening.

At start-up the bridge listens before the caches are read (warmed), and holds what it hears
until they are (:meth:`EventBridge.hold`, :meth:`EventBridge.release`): a change announced
meanwhile is neither missed nor reloaded under warm's own read of it, which could finish
last and leave the older state in memory. A reload the held events (or a re-established
connection) ask for then runs after warm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot.cluster.connections import Connect
from bot.events import Event, EventBus, decode, encode
from bot.workers import Role, WorkerStatus, wait_for_event
from db import cluster_queries as queries

log = logging.getLogger(__name__)

CHANNEL = "polymarket_bot_events"
MAX_PAYLOAD = 7_900  # PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more
OUTBOX_LIMIT = 10_000

# Failures that say "not now" (the connection went away or cannot be had, the server is shutting
# down, restarting, failing over or short of resources, its NOTIFY queue is full, a timeout, a
# transaction rolled back): the same NOTIFY succeeds later.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, cannot connect, timeout
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many clients, memory, disk
    asyncpg.exceptions.ProgramLimitExceededError,  # 54000: for NOTIFY, its queue is full
    asyncpg.exceptions.PostgresSystemError,  # class 58: I/O errors
    asyncpg.exceptions.TransactionRollbackError,  # class 40: serialization, deadlock
    asyncpg.exceptions.LockNotAvailableError,  # 55P03: lock_timeout
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # 25006: a standby, mid-failover
)


def is_connection_error(exc: BaseException) -> bool:
    """Worth retrying the send; any other PostgreSQL error refuses this NOTIFY for good."""
    return isinstance(exc, CONNECTION_ERRORS)


@dataclass
class BridgeStats:
    sent: int = 0
    received: int = 0
    skipped: int = 0  # unreadable or oversized payloads
    send_failures: int = 0  # sends retried: PostgreSQL could not be reached
    refused: int = 0  # events PostgreSQL refused (not retried: dropped)
    reconnects: int = 0  # each followed by a full reload
    queries: int = 0  # LISTEN, pings and NOTIFYs
    listening: bool = False


class EventBridge:
    """A worker of every process (see the module docstring)."""

    name = "cluster-events"
    role = Role.EVERY_PROCESS

    def __init__(
        self,
        connect: Connect,
        pool: asyncpg.Pool,
        bus: EventBus,
        process_id: str,
        *,
        on_resync: Callable[[], Awaitable[None]],
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        retry_delay: float = 1.0,
    ) -> None:
        self._connect = connect
        self._pool = pool
        self._bus = bus
        self.process_id = process_id
        self._on_resync = on_resync
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._retry_delay = retry_delay
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self._conn: asyncpg.Connection[Any] | None = None
        self._lost = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._held: list[Event] | None = None  # a list while holding what is heard
        self._resync_held = False  # the connection was re-established while holding
        self.stats = BridgeStats()

    def status(self) -> WorkerStatus:
        state = "listening" if self.stats.listening else "reconnecting"
        detail = f"{state} · sent {self.stats.sent} · received {self.stats.received}"
        if self.stats.refused:
            detail += f" · refused {self.stats.refused}"
        return WorkerStatus(self.name, self.role, bool(self._tasks), detail)

    async def start(self) -> None:
        """Listen before returning (nothing published after start-up is missed), then keep the
        connection and send the outbox in the background."""
        if self._tasks:
            return
        self._bus.forward_to(self.forward)
        with contextlib.suppress(Exception):  # the loop retries; start-up must not fail here
            await self._listen()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._keep_listening(), name="cluster-listen"),
            loop.create_task(self._send_loop(), name="cluster-notify"),
        ]

    def hold(self) -> None:
        """Keep the events heard from now on, undelivered, until :meth:`release`."""
        if self._held is None:
            self._held = []

    async def release(self) -> None:
        """Deliver the events held, in the order heard, and from now on each as it comes; then
        the full reload a connection re-established meanwhile asked for."""
        held, self._held = self._held or [], None
        for event in held:
            self._bus.deliver(event)
        if self._resync_held:
            self._resync_held = False
            await self._resync()

    async def stop(self) -> None:
        """Send what is queued (briefly), then close the listening connection. Stopping a
        bridge that is not running only closes the connection."""
        self._bus.forward_to(None)
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._outbox.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._drop_connection()

    # ---- out ------------------------------------------------------------------------------------

    def forward(self, event: Event) -> None:
        """The bus's forwarder: queue a cluster-wide event for NOTIFY."""
        kind, payload = type(event).__name__, encode(event, self.process_id)
        if len(payload.encode()) > MAX_PAYLOAD or self._outbox.full():
            self.stats.skipped += 1
            log.error("cluster event %s not sent (too large or outbox full)", kind)
            return
        self._outbox.put_nowait((kind, payload))

    async def _send_loop(self) -> None:
        """One sender, so order is kept. A failure ``_send`` does not expect (a bug, not an
        outage) costs that one event, logged, never the sender: an ended sender would leave
        every later event in the outbox."""
        while True:
            kind, payload = await self._outbox.get()
            try:
                await self._send(kind, payload)
            except Exception:
                self.stats.skipped += 1
                log.exception("cluster event %s not sent: %s", kind, payload[:200])
            finally:
                self._outbox.task_done()

    async def _send(self, kind: str, payload: str) -> None:
        """Retry while PostgreSQL cannot be reached: a follow made during an outage must still
        reach the leader (order is kept: one sender). Any other PostgreSQL error is final for
        this payload: retrying it would block every later event behind it."""
        while True:
            try:
                self.stats.queries += 1
                async with self._pool.acquire() as conn:
                    await queries.notify(conn, CHANNEL, payload)
                self.stats.sent += 1
                return
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if not is_connection_error(exc):
                    self.stats.refused += 1
                    log.error("cluster event %s refused by PostgreSQL, dropped: %s", kind, exc)
                    return
                self.stats.send_failures += 1
                log.warning("NOTIFY failed (%s); retrying", exc)
                await asyncio.sleep(self._retry_delay)

    # ---- in -------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        async with asyncio.timeout(self._ping_timeout):
            conn = await self._connect("polymarket-bot events")
        try:
            conn.add_termination_listener(self._connection_lost)
            self.stats.queries += 1
            await conn.add_listener(CHANNEL, self._on_notification)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self._lost.clear()
        self.stats.listening = True

    async def _keep_listening(self) -> None:
        while True:
            if self._conn is None:
                await self._reconnect()
                continue
            lost = await wait_for_event(self._lost, self._ping_interval)
            if not lost and await self._alive():
                continue
            log.warning("the LISTEN connection was lost; re-establishing it")
            await self._drop_connection()

    async def _alive(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            return False
        try:
            self.stats.queries += 1
            async with asyncio.timeout(self._ping_timeout):
                await queries.ping(self._conn)
            return True
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    async def _reconnect(self) -> None:
        try:
            await self._listen()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("LISTEN connection failed (%s); retrying", exc)
            await asyncio.sleep(self._retry_delay)
            return
        self.stats.reconnects += 1
        if self._held is not None:
            self._resync_held = True  # after the caches are warm: see release()
            return
        await self._resync()

    async def _resync(self) -> None:
        try:
            await self._on_resync()  # whatever was published meanwhile is read from PostgreSQL
        except Exception:
            log.exception("full reload after re-listening failed")

    def _connection_lost(self, conn: object) -> None:
        if conn is self._conn:
            self.stats.listening = False
            self._lost.set()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self.stats.listening = False
        if conn is not None and not conn.is_closed():
            try:
                async with asyncio.timeout(self._ping_timeout):
                    await conn.close()
            except Exception:
                conn.terminate()

    def _on_notification(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            origin, event = decode(str(payload))
        except ValueError as exc:
            self.stats.skipped += 1
            log.warning("skipping a cluster notification: %s", exc)
            return
        if origin == self.process_id:
            return
        self.stats.received += 1
        if self._held is not None:
            self._held.append(event)
            return
        self._bus.deliver(event)
