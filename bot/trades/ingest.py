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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from bot.events import EventBus, TradeStored
from bot.polymarket.data_api import parse_rows
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Trade
from bot.trades.follows import FollowService
from bot.trades.models import BACKDATE_TOLERANCE, Target
from bot.workers import Role, WorkerStatus
from db import trade_queries as queries
from db.pool import Connection

log = logging.getLogger(__name__)

BACKFILL_LIMIT = 500


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
        http: PolymarketHTTP,
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
        self._http = http
        self._on_deliveries = on_deliveries
        self.queue: asyncio.Queue[Trade] = asyncio.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._retention_days = retention_days
        self._watched = watched
        self._signals = signals
        self._writer: asyncio.Task[None] | None = None
        self._backfill_lock = asyncio.Lock()
        self.stats = IngestStats()

    # ---- from the stream -----------------------------------------------------------------------

    async def submit(self, trade: Trade) -> None:
        self.stats.received += 1
        if self.queue.full() and not self._keeps(trade.wallet):
            self.stats.shed += 1
            return
        await self.queue.put(trade)

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
        self._writer.cancel()
        try:
            await self._writer
        except asyncio.CancelledError:
            pass
        self._writer = None

    async def _write_loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self._batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._store_until_done(batch, "stream")
            except Exception:  # a bug must not kill the writer (and with it every alert)
                log.exception("dropping a batch of %d trades after an unexpected error", len(batch))
                self.stats.rejected += len(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _store_until_done(self, trades: Sequence[Trade], source: str) -> None:
        """A database outage delays a batch; it never drops it. A trade PostgreSQL refuses
        for good (bad upstream data) is logged and skipped, alone, so it cannot block the rest."""
        while True:
            try:
                await self.store(trades, source)
                return
            except asyncpg.DataError as exc:
                if len(trades) == 1:
                    log.error("skipping unstorable trade %s: %s", trades[0].key, exc)
                    self.stats.rejected += 1
                    return
                for trade in trades:
                    await self._store_until_done([trade], source)
                return
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                self.stats.write_failures += 1
                log.warning("storing %d trades failed (%s); retrying", len(trades), exc)
                await asyncio.sleep(self._retry_delay)

    # ---- storing ------------------------------------------------------------------------------

    async def store(self, trades: Sequence[Trade], source: str) -> list[Trade]:
        """Store new trades and their deliveries in one transaction; returns the new ones."""
        # in key order: two writers of overlapping trades (live and backfill, or a stale and a
        # new leader) then take row locks in the same order and cannot deadlock
        unique = sorted({t.key: t for t in trades}.values(), key=lambda t: t.key)
        delayed = source == "backfill"
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
        self.stats.duplicates += len(trades) - len(new)
        self.stats.deliveries += len(rows)
        for trade in new:
            self._bus.publish(TradeStored(wallet=trade.wallet, trade_key=trade.key))
        if rows:
            self._on_deliveries({row[1] for row in rows})
        return new

    # ---- gap backfill ---------------------------------------------------------------------------

    async def backfill(self) -> int:
        """After a (re)connect: fetch each followed wallet's recent trades and store what is
        missing (their alerts say "delayed"); what was stored already collapses on its key.

        The window is not "since the last stored trade": a live trade stored just after the
        reconnect would hide the gap before it. It is everything since the wallet was
        followed, bounded by retention (a pruned trade must not come back) and one page."""
        async with self._backfill_lock:
            total = 0
            oldest_kept = time.time() - self._retention_days * 86_400 + 3_600
            starts: dict[str, float] = {}
            for wallet in self._follows.followed_wallets():
                follows = self._follows.follows_of(wallet)
                if follows:
                    # Polymarket stamps whole seconds: look back as far as a follow accepts.
                    starts[wallet] = min(f.created_at for f in follows) - BACKDATE_TOLERANCE
            if self._watched is not None:
                for wallet, since in self._watched.backfill_since().items():
                    starts[wallet] = min(since, starts.get(wallet, since))
            for wallet, first in starts.items():
                try:
                    total += await self._backfill_wallet(wallet, max(first, oldest_kept))
                except Exception as exc:  # one wallet's failure must not stop the others
                    log.warning("backfill of %s failed: %s", wallet, exc)
            self.stats.backfilled += total
            log.info(
                "backfill after (re)connect: %d watched wallets, %d missed trades stored",
                len(starts),
                total,
            )
            return total

    async def _backfill_wallet(self, wallet: str, since: float) -> int:
        body = await self._http.get_json(
            "data",
            "/trades",
            {"user": wallet, "limit": BACKFILL_LIMIT, "takerOnly": "false"},
        )
        trades = parse_rows("data:/trades", body, Trade.from_api, self._http.rejections)
        recent = [t for t in trades if t.wallet == wallet and t.timestamp >= since]
        if not recent:
            return 0
        new = await self.store(recent, "backfill")
        return len(new)

    async def prune(self, retention_days: float) -> int:
        """Old trades and the delivery records that point to them."""
        async with self._pool.acquire() as conn:
            return await queries.prune_trades(conn, retention_days)

    async def prune_expired(self) -> int:
        """The daily "trade-retention" loop: trades older than TRADES_RETENTION_DAYS."""
        deleted = await self.prune(self._retention_days)
        log.info("retention: deleted %d trades older than %g days", deleted, self._retention_days)
        return deleted

    def queue_depth(self) -> int:
        return self.queue.qsize()
