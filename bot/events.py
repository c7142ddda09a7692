"""In-process event bus with typed events (a stored trade, a new follow, a changed setting),
and the wire form of the cluster-wide ones.

Events are small frozen dataclasses, so a subscriber sees exactly which fields it gets and the
type checker sees every publisher and subscriber. Handlers run as tasks so a slow or failing
subscriber never blocks or breaks the publisher; their exceptions are logged.

With several processes on one PostgreSQL, an event class opts in to being cluster-wide with
one line, ``cluster_wide: ClassVar[bool] = True``: the bus then hands every such event published
here to its forwarder (bot/cluster/bridge.py sends it over NOTIFY), and events that arrive from
other processes are delivered to the local handlers only (never forwarded again). The payload is
the event's fields as JSON, so fields must be plain values (str, int, float, bool, None, tuples
and dicts of those); a tuple travels as a list and is turned back into a tuple.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event; subclasses carry the payload as typed fields."""

    cluster_wide: ClassVar[bool] = False


class StoredTrade(NamedTuple):
    """One newly stored trade as :class:`TradesStored` names it: plain values only."""

    wallet: str
    trade_key: str


@dataclass(frozen=True, slots=True)
class TradesStored(Event):
    """New trades were stored in one write (live, reconciled or backfilled), in the order they
    were written. One event per write, not per trade: every subscriber runs once per batch (a
    backfill of 500 trades is one task per subscriber, not 500), doing per-wallet work once per
    distinct wallet and per-trade work for each trade in turn. Local only: the leader stores
    trades, and its own order writer and caches react; other processes learn of the traders
    through :class:`TradersChanged`."""

    trades: tuple[StoredTrade, ...]

    @property
    def wallets(self) -> tuple[str, ...]:
        """The distinct wallets of the batch, in the order they first appear."""
        return tuple(dict.fromkeys(trade.wallet for trade in self.trades))


@dataclass(frozen=True, slots=True)
class FollowAdded(Event):
    """A channel started following ``wallet``: its score inputs are worth refreshing (on the
    leader, whichever process ran the command)."""

    cluster_wide: ClassVar[bool] = True
    wallet: str
    channel_id: int


@dataclass(frozen=True, slots=True)
class ChannelDisabled(Event):
    """The bot can no longer post in ``channel_id``: everything alerting there stops. Local to
    the process whose delivery found it; the stores it disables announce their own changes
    cluster-wide (FollowsChanged, SignalsChanged)."""

    channel_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class SignalsChanged(Event):
    """A server turned a signal on, off or moved it: every process reloads its signal watches."""

    cluster_wide: ClassVar[bool] = True
    guild_id: int


@dataclass(frozen=True, slots=True)
class LabelsChanged(Event):
    """A server named (or unnamed) a trader: every process reloads that server's labels."""

    cluster_wide: ClassVar[bool] = True
    guild_id: int


@dataclass(frozen=True, slots=True)
class FollowsChanged(Event):
    """Follows or whale watches changed in PostgreSQL: every process reloads its index."""

    cluster_wide: ClassVar[bool] = True
    channel_id: int


@dataclass(frozen=True, slots=True)
class CopiesChanged(Event):
    """A copy started or stopped: every process re-reads the set of copied wallets."""

    cluster_wide: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class BoardsPublished(Event):
    """The leader stored new leaderboard snapshots (or recorded a failed refresh): the other
    processes reload the boards from PostgreSQL. ``snapshot_ids``: period -> newest id."""

    cluster_wide: ClassVar[bool] = True
    snapshot_ids: dict[str, int]


@dataclass(frozen=True, slots=True)
class TradersChanged(Event):
    """New trades of these wallets were stored: cached profiles of them are out of date."""

    cluster_wide: ClassVar[bool] = True
    wallets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MarketsForgotten(Event):
    """An admin refreshed markets: cached market metadata and prices are dropped everywhere."""

    cluster_wide: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class RefreshRequested(Event):
    """``/admin refresh`` on a process that is not the leader: the leader runs it."""

    cluster_wide: ClassVar[bool] = True
    request_id: str
    target: str


@dataclass(frozen=True, slots=True)
class RefreshFinished(Event):
    """The leader ran a requested refresh; ``error`` is set when it failed."""

    cluster_wide: ClassVar[bool] = True
    request_id: str
    error: str | None
    duration: float
    trader_count: int
    rows_written: int
    periods_ok: tuple[str, ...]
    periods_failed: dict[str, str]
    details_fetched: int
    joined: bool
    markets_outcome: str | None
    positions_outcome: str | None


@dataclass(frozen=True, slots=True)
class LeaderResigned(Event):
    """The leader released its lock on purpose (shutdown): the others campaign at once."""

    cluster_wide: ClassVar[bool] = True


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None]]


def _subclasses(base: type[Event]) -> Iterator[type[Event]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def cluster_event_types() -> dict[str, type[Event]]:
    """Every cluster-wide event class by name (read from the class tree: no registry to fill)."""
    return {cls.__name__: cls for cls in _subclasses(Event) if cls.cluster_wide}


def encode(event: Event, origin: str) -> str:
    """The NOTIFY payload of a cluster-wide event: its type, its fields, who sent it."""
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    return json.dumps({"type": type(event).__name__, "origin": origin, "fields": fields})


def decode(payload: str) -> tuple[str, Event]:
    """(origin, event) from a NOTIFY payload; ValueError when it is not a known event."""
    try:
        message = json.loads(payload)
        cls = cluster_event_types()[message["type"]]
        fields = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in message["fields"].items()
        }
        return str(message["origin"]), cls(**fields)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a cluster event: {payload[:200]!r} ({exc})") from None


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = defaultdict(list)
        self._remote_handlers: dict[type[Event], list[Handler]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()
        self._forward: Callable[[Event], None] | None = None
        self.published: dict[str, int] = defaultdict(int)
        self.received: dict[str, int] = defaultdict(int)  # cluster-wide, from other processes

    def subscribe(
        self,
        event_type: type[E],
        handler: Callable[[E], Awaitable[None]],
        *,
        remote_only: bool = False,
    ) -> None:
        """``remote_only``: the handler brings this process in step with a change another
        process made (re-reading it from PostgreSQL). A change made here has already updated
        this process's memory where it was made, so re-reading it would be wasted (a reload of
        100,000 follows after every /follow)."""
        handlers = self._remote_handlers if remote_only else self._handlers
        handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        for handlers in (self._handlers, self._remote_handlers):
            if handler in handlers.get(event_type, []):
                handlers[event_type].remove(handler)

    def forward_to(self, forward: Callable[[Event], None] | None) -> None:
        """Where cluster-wide events published here go besides the local handlers."""
        self._forward = forward

    def publish(self, event: Event) -> None:
        self.published[type(event).__name__] += 1
        self._run_handlers(self._handlers, event)
        if self._forward is not None and event.cluster_wide:
            self._forward(event)

    def deliver(self, event: Event) -> None:
        """An event published by another process: local handlers only, never forwarded."""
        self.received[type(event).__name__] += 1
        self._run_handlers(self._handlers, event)
        self._run_handlers(self._remote_handlers, event)

    def _run_handlers(self, handlers: dict[type[Event], list[Handler]], event: Event) -> None:
        for handler in list(handlers.get(type(event), [])):
            task = asyncio.get_running_loop().create_task(self._run(handler, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, event: Event) -> None:
        try:
            await handler(event)
        except Exception:
            log.exception("event handler %r failed for %s", handler, type(event).__name__)

    async def drain(self) -> None:
        """Wait for handlers in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
