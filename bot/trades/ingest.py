"""Trade ingestion: stream -> bounded queue -> batched, idempotent writes -> alert deliveries.

The socket reader must never wait on PostgreSQL, and PostgreSQL must never lose a followed
wallet's trade, so a bounded queue sits between them: when it is full, a followed wallet's
trade waits for room (back-pressure on the socket) while whale-only trades of unfollowed
wallets are shed and counted. Storing a trade and recording who must be alerted happen in one
transaction; the natural key makes every retry, duplicate frame and backfill collapse.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from bot.events import EventBus, StoredTrade, TradesStored
from bot.polymarket.records import Trade
from bot.trades.follows import FollowService
from bot.trades.models import Target
from bot.workers import Role, WorkerStatus, cancel_and_wait
from db import trade_queries as queries
from db.pool import Connection

log = logging.getLogger(__name__)

PRUNE_BATCH = 2_000  # trades per retention batch


class WatchedWallets(Protocol):
    """Wallets whose trades are kept besides the followed ones (e.g. copied traders)."""

    def is_copied(self, wallet: str) -> bool: ...

    def backfill_since(self) -> dict[str, float]: ...


class PreparedTargets(Protocol):
    """What a target source learnt about one batch before it is stored (bot/signals)."""

    def categories(self, trade: Trade) -> frozenset[str]: ...

    async def add_targets(
        self, conn: Connection, trades: Sequence[Trade], targets: dict[str, list[Target]]
    ) -> None: ...


class SignalTargets(Protocol):
    """Alerts beyond follows and whales (signals): asked next to FollowService."""

    def wants(self, wallet: str, usd: float) -> bool: ...

    async def prepare(self, trades: Sequence[Trade]) -> PreparedTargets: ...


def _is_outage(exc: BaseException) -> bool:
    """PostgreSQL away (connection lost, refused, timed out, shutting down) rather than one row
    it refuses (bad data) or a bug: only an outage is worth retrying the same batch for."""
    # asyncpg's client-side DataError (an argument it cannot encode) is a ValueError too
    if isinstance(exc, ValueError | ArithmeticError | TypeError):
        return False
    if isinstance(exc, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError):
        return False
    return isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError | TimeoutError)


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    shed: int = 0
    backfilled: int = 0
    write_failures: int = 0
    rejected: int = 0
    deliveries: int = 0


class TradeIngest:
    def __init__(
        self,
        pool: asyncpg.Pool,
        follows: FollowService,
        bus: EventBus,
        *,
        on_deliveries: Callable[[set[int]], None],
        queue_size: int = 10_000,
        batch_size: int = 500,
        retry_delay: float = 1.0,
        retention_days: float = 30.0,
        watched: WatchedWallets | None = None,
        signals: SignalTargets | None = None,
    ) -> None:
        self._pool = pool
        self._follows = follows
        self._bus = bus
        self._on_deliveries = on_deliveries
        self.queue: asyncio.Queue[Trade] = asyncio.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._retention_days = retention_days
        self._watched = watched
        self._signals = signals
        self._writer: asyncio.Task[None] | None = None
        self._in_flight: Counter[str] = Counter()  # keys queued or being written
        self.stats = IngestStats()

    # ---- from the stream -----------------------------------------------------------------------

    async def submit(self, trade: Trade) -> None:
        self.stats.received += 1
        if self.queue.full() and not self._keeps(trade.wallet):
            self.stats.shed += 1
            return
        self._in_flight[trade.key] += 1
        await self.queue.put(trade)

    def in_flight(self, trade_key: str) -> bool:
        """The stream delivered this trade and it is on its way to PostgreSQL (the reconciler
        must not count it as missed)."""
        return trade_key in self._in_flight

    def _keeps(self, wallet: str) -> bool:
        """A trade that must never be shed: followed or copied."""
        if self._follows.is_followed(wallet):
            return True
        return self._watched is not None and self._watched.is_copied(wallet)

    def wants(self, wallet: str, usd: float) -> bool:
        """The stream's O(1) filter: followed, whale-sized, copied, or a signal's."""
        return (
            self._follows.wants(wallet, usd)
            or (self._watched is not None and self._watched.is_copied(wallet))
            or (self._signals is not None and self._signals.wants(wallet, usd))
        )

    name = "ingest-writer"
    role = Role.LEADER

    def status(self) -> WorkerStatus:
        running = self._writer is not None and not self._writer.done()
        return WorkerStatus(self.name, self.role, running, f"queue {self.queue.qsize()}")

    async def start(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="ingest")

    async def stop(self) -> None:
        """Flush what is queued (bounded by a short timeout), then stop the writer."""
        if self._writer is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), timeout=5)
        except TimeoutError:
            log.warning("stopping with %d trades still queued", self.queue.qsize())
        await cancel_and_wait(self._writer)
        self._writer = None

    async def _write_loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self._batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._store_until_done(batch, "stream")
            except Exception:  # unreachable by design (rows are isolated); never kill the writer
                log.exception("unexpected error storing a batch of %d trades", len(batch))
                self.stats.rejected += len(batch)
            finally:
                for trade in batch:
                    self._in_flight[trade.key] -= 1
                    if self._in_flight[trade.key] <= 0:
                        del self._in_flight[trade.key]
                    self.queue.task_done()

    async def _store_until_done(self, trades: Sequence[Trade], source: str) -> list[Trade]:
        """Store and return the new ones. A database outage delays a batch; it never drops it.
        A trade that cannot be stored (bad upstream data PostgreSQL refuses, or a bug) is
        isolated, logged and skipped alone, so it never costs the rest of its batch."""
        storable = [t for t in trades if self._storable(t)]
        return await self._store_isolating(storable, source) if storable else []

    async def store_each(self, trades: Sequence[Trade], source: str) -> list[Trade]:
        """``store`` for trades that did not come through the stream (the reconciler's): a bad
        one is skipped alone, an outage waited out; returns the ones that were new."""
        return await self._store_until_done(trades, source)

    def _storable(self, trade: Trade) -> bool:
        """What PostgreSQL cannot even be asked to store (a timestamp past year 9999...)."""
        try:
            datetime.fromtimestamp(trade.timestamp, tz=UTC)
        except (ValueError, OverflowError, OSError) as exc:
            log.error("skipping trade %s with timestamp %r: %s", trade.key, trade.timestamp, exc)
            self.stats.rejected += 1
            return False
        return True

    async def _store_isolating(self, trades: Sequence[Trade], source: str) -> list[Trade]:
        while True:
            try:
                return await self.store(trades, source)
            except Exception as exc:
                if _is_outage(exc):
                    self.stats.write_failures += 1
                    log.warning("storing %d trades failed (%s); retrying", len(trades), exc)
                    await asyncio.sleep(self._retry_delay)
                    continue
                if len(trades) == 1:
                    log.error("skipping unstorable trade %s: %r", trades[0].key, exc)
                    self.stats.rejected += 1
                    return []
                half = len(trades) // 2  # halves: a bad row costs log2(batch) retries
                first = await self._store_isolating(trades[:half], source)
                return first + await self._store_isolating(trades[half:], source)

    # ---- storing ------------------------------------------------------------------------------

    async def store(self, trades: Sequence[Trade], source: str) -> list[Trade]:
        """Store new trades and their deliveries in one transaction; returns the new ones."""
        # in key order: two writers of overlapping trades (live and backfill, or a stale and a
        # new leader) then take row locks in the same order and cannot deadlock
        unique = sorted({t.key: t for t in trades}.values(), key=lambda t: t.key)
        delayed = source != "stream"  # backfilled or reconciled: the stream missed it
        prepared = await self._signals.prepare(unique) if self._signals is not None else None
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await queries.insert_trades(conn, unique, source)
            new = [t for t in unique if t.key in inserted]
            targets = {
                t.key: self._follows.targets(t, prepared.categories(t) if prepared else frozenset())
                for t in new
            }
            if prepared is not None:
                await prepared.add_targets(conn, new, targets)
            rows = [
                (t.key, target.channel_id, target.guild_id, target.kind, target.follow_id, delayed)
                for t in new
                for target in targets[t.key]
            ]
            await queries.insert_deliveries(conn, rows)
        self.stats.stored += len(new)
        if delayed:
            self.stats.backfilled += len(new)
        self.stats.duplicates += len(trades) - len(new)
        self.stats.deliveries += len(rows)
        if new:  # one event per write: its subscribers handle the batch in one task each
            self._bus.publish(TradesStored(tuple(StoredTrade(t.wallet, t.key) for t in new)))
        if rows:
            self._on_deliveries({row[1] for row in rows})
        return new

    async def prune(self, retention_days: float, *, now: float | None = None) -> int:
        """Old trades, the delivery records that point to them, and the outbox messages left
        empty, in bounded batches (each a short transaction that never meets the statement
        timeout), then VACUUM so the space is reused: the tables stay the same size from day to
        day instead of growing with history. (``now``: benchmarks simulate the days passing.)"""
        cutoff = (time.time() if now is None else now) - retention_days * 86_400
        total = 0
        while True:
            async with self._pool.acquire() as conn:
                deleted = await queries.prune_trades_batch(conn, cutoff, PRUNE_BATCH)
            total += deleted
            if deleted < PRUNE_BATCH:
                break
            await asyncio.sleep(0)  # other users of the pool get a turn between batches
        async with self._pool.acquire() as conn:
            while await queries.prune_messages_batch(conn, cutoff, PRUNE_BATCH) == PRUNE_BATCH:
                pass
            await queries.vacuum_alert_tables(conn)
        return total

    async def prune_expired(self) -> int:
        """The daily "trade-retention" loop: trades older than TRADES_RETENTION_DAYS."""
        deleted = await self.prune(self._retention_days)
        log.info("retention: deleted %d trades older than %g days", deleted, self._retention_days)
        return deleted

    def queue_depth(self) -> int:
        return self.queue.qsize()
