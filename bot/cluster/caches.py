"""Every process's hot caches kept in step with PostgreSQL by cluster-wide events.

Each process answers its shards' commands from its own memory; when another process changes
what that memory mirrors (the leader stores new boards, a follower adds a follow, anyone starts
a copy), a cluster-wide event says so and each process reloads that part from PostgreSQL.
PostgreSQL stays the one source of truth, so an event carries only what changed, never data.

A reload is coalesced: requests that arrive while one runs cause exactly one more run after
it, and runs never overlap, so the last run always starts after the last change (two racing
reloads could otherwise finish in the wrong order and leave the older state in memory).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.events import (
    BoardsPublished,
    CopiesChanged,
    EventBus,
    FollowsChanged,
    MarketsForgotten,
    TradersChanged,
)
from bot.workers import Role, WorkerStatus, cancel_and_wait

log = logging.getLogger(__name__)

WALLETS_PER_EVENT = 100


class Reloader:
    """Runs ``load`` on request, coalesced and never overlapping; a failed run is retried."""

    def __init__(
        self, name: str, load: Callable[[], Awaitable[object]], *, retry_delay: float = 1.0
    ) -> None:
        self.name = name
        self._load = load
        self._retry_delay = retry_delay
        self._requested = 0
        self._done = 0
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        self.failures = 0

    def request(self) -> None:
        """Reload soon; returns at once."""
        self._requested += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._drain(), name=f"reload-{self.name}"
            )

    async def run(self) -> None:
        """Reload and wait until a run that started after this call has finished."""
        self.request()
        await self.caught_up()

    async def caught_up(self) -> None:
        """Until every reload requested so far has run (at once when none is pending)."""
        wanted = self._requested
        while self._done < wanted and self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        failures = 0
        while self._done < self._requested:
            target = self._requested
            try:
                await self._load()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.failures += 1
                log.warning("reloading %s failed (%s); retrying", self.name, exc)
                await asyncio.sleep(min(30.0, self._retry_delay * 2 ** min(failures, 5)))
                continue
            self.runs += 1
            self._done = target

    async def close(self) -> None:
        await cancel_and_wait(self._task)


@dataclass(frozen=True)
class CacheParts:
    """How each mirrored part is reloaded or dropped (given by the application)."""

    boards: Callable[[], Awaitable[object]]
    board_ids: Callable[[], dict[str, int]]  # period -> snapshot id held in memory
    writes_boards: Callable[[], bool]  # true on the leader, whose memory is the newest
    follows: Callable[[], Awaitable[object]]
    copies: Callable[[], Awaitable[object]]
    forget_traders: Callable[[Iterable[str]], None]
    forget_all_traders: Callable[[], None]
    forget_markets: Callable[[], None]
    # servers' own settings (signal watches, labels): their services reload them on their own
    # cluster-wide events; after a missed stretch of events they are reloaded here too
    settings: tuple[Callable[[], Awaitable[object]], ...] = ()


class CacheSync:
    """A worker of every process: subscribes the reloads to the cluster-wide events."""

    name = "cache-sync"
    role = Role.EVERY_PROCESS

    def __init__(self, bus: EventBus, parts: CacheParts) -> None:
        self._parts = parts
        self.boards = Reloader("boards", parts.boards)
        self.follows = Reloader("follows", parts.follows)
        self.copies = Reloader("copies", parts.copies)
        self.full_reloads = 0
        bus.subscribe(BoardsPublished, self._on_boards)
        bus.subscribe(FollowsChanged, self._on_follows, remote_only=True)
        bus.subscribe(CopiesChanged, self._on_copies, remote_only=True)
        bus.subscribe(TradersChanged, self._on_traders)
        bus.subscribe(MarketsForgotten, self._on_markets)

    def status(self) -> WorkerStatus:
        runs = self.boards.runs + self.follows.runs + self.copies.runs
        detail = f"{runs} reloads · {self.full_reloads} full"
        return WorkerStatus(self.name, self.role, True, detail)

    async def start(self) -> None:
        """Nothing to start: reloads run when events arrive."""

    async def stop(self) -> None:
        for reloader in (self.boards, self.follows, self.copies):
            await reloader.close()

    async def caught_up(self) -> None:
        """Until the reloads requested so far (boards, follows, copies) have run."""
        for reloader in (self.boards, self.follows, self.copies):
            await reloader.caught_up()

    async def full_reload(self) -> None:
        """After the LISTEN connection was re-established: events may have been missed."""
        self.full_reloads += 1
        self._parts.forget_all_traders()
        self._parts.forget_markets()
        await asyncio.gather(
            self.boards.run(),
            self.follows.run(),
            self.copies.run(),
            *(load() for load in self._parts.settings),
        )

    async def _on_boards(self, event: BoardsPublished) -> None:
        if self._parts.writes_boards():
            return
        held = self._parts.board_ids()
        if any(held.get(period) != sid for period, sid in event.snapshot_ids.items()):
            self.boards.request()

    async def _on_follows(self, event: FollowsChanged) -> None:
        self.follows.request()

    async def _on_copies(self, event: CopiesChanged) -> None:
        self.copies.request()

    async def _on_traders(self, event: TradersChanged) -> None:
        self._parts.forget_traders(event.wallets)

    async def _on_markets(self, event: MarketsForgotten) -> None:
        self._parts.forget_markets()


class TraderInvalidations:
    """A leader worker: the wallets of newly stored trades, sent to every process at most every
    ``delay`` seconds as one :class:`TradersChanged` (a backfill stores hundreds at once)."""

    name = "trader-invalidations"
    role = Role.LEADER

    def __init__(self, bus: EventBus, *, delay: float = 0.5) -> None:
        self._bus = bus
        self._delay = delay
        self._pending: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self._running = False
        self.sent = 0

    def status(self) -> WorkerStatus:
        return WorkerStatus(self.name, self.role, self._running, f"{self.sent} sent")

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        await cancel_and_wait(self._flush)
        self._flush = None
        self._publish()

    def add(self, wallet: str) -> None:
        if not self._running:
            return
        self._pending.add(wallet)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._delay)
        self._publish()

    def _publish(self) -> None:
        wallets, self._pending = sorted(self._pending), set()
        for start in range(0, len(wallets), WALLETS_PER_EVENT):  # NOTIFY payloads are small
            self._bus.publish(
                TradersChanged(wallets=tuple(wallets[start : start + WALLETS_PER_EVENT]))
            )
            self.sent += 1
