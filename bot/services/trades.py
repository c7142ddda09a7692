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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from bot.events import TRADE_STORED, EventBus
from bot.polymarket.data_api import parse_rows
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Trade
from bot.services.follows import FollowService
from db import trade_queries as queries

log = logging.getLogger(__name__)

BACKFILL_LIMIT = 500


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    shed: int = 0
    backfilled: int = 0
    write_failures: int = 0
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
    ) -> None:
        self._pool = pool
        self._follows = follows
        self._bus = bus
        self._http = http
        self._on_deliveries = on_deliveries
        self.queue: asyncio.Queue[Trade] = asyncio.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._writer: asyncio.Task[None] | None = None
        self._backfill_lock = asyncio.Lock()
        self.stats = IngestStats()

    # ---- from the stream -----------------------------------------------------------------------

    async def submit(self, trade: Trade) -> None:
        self.stats.received += 1
        if self.queue.full() and not self._follows.is_followed(trade.wallet):
            self.stats.shed += 1
            return
        await self.queue.put(trade)

    def start(self) -> None:
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
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _store_until_done(self, trades: Sequence[Trade], source: str) -> None:
        """A database outage delays a batch; it never drops it."""
        while True:
            try:
                await self.store(trades, source)
                return
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                self.stats.write_failures += 1
                log.warning("storing %d trades failed (%s); retrying", len(trades), exc)
                await asyncio.sleep(self._retry_delay)

    # ---- storing ------------------------------------------------------------------------------

    async def store(self, trades: Sequence[Trade], source: str) -> list[Trade]:
        """Store new trades and their deliveries in one transaction; returns the new ones."""
        unique = list({t.key: t for t in trades}.values())
        delayed = source == "backfill"
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await queries.insert_trades(conn, unique, source)
            new = [t for t in unique if t.key in inserted]
            rows = [
                (t.key, target.channel_id, target.guild_id, target.kind, target.follow_id, delayed)
                for t in new
                for target in self._follows.targets(t)
            ]
            await queries.insert_deliveries(conn, rows)
        self.stats.stored += len(new)
        self.stats.duplicates += len(trades) - len(new)
        self.stats.deliveries += len(rows)
        for trade in new:
            self._bus.publish(TRADE_STORED, wallet=trade.wallet, trade_key=trade.key)
        if rows:
            self._on_deliveries({row[1] for row in rows})
        return new

    # ---- gap backfill ---------------------------------------------------------------------------

    async def backfill(self) -> int:
        """After a (re)connect: fetch each followed wallet's trades since its last stored one."""
        async with self._backfill_lock:
            wallets = self._follows.followed_wallets()
            if not wallets:
                return 0
            async with self._pool.acquire() as conn:
                last = await queries.last_trade_times(conn, wallets)
            total = 0
            for wallet in wallets:
                follows = self._follows.follows_of(wallet)
                if not follows:
                    continue
                since = last.get(wallet, min(f.created_at for f in follows))
                try:
                    total += await self._backfill_wallet(wallet, since)
                except Exception as exc:  # one wallet's failure must not stop the others
                    log.warning("backfill of %s failed: %s", wallet, exc)
            self.stats.backfilled += total
            if total:
                log.info("backfill stored %d missed trades", total)
            return total

    async def _backfill_wallet(self, wallet: str, since: float) -> int:
        body = await self._http.get_json(
            "data",
            "/trades",
            {"user": wallet, "limit": BACKFILL_LIMIT, "takerOnly": "false"},
        )
        trades = parse_rows("data:/trades", body, Trade.from_api)
        missed = [t for t in trades if t.wallet == wallet and t.timestamp >= since - 1]
        if not missed:
            return 0
        new = await self.store(missed, "backfill")
        return len(new)

    async def prune(self, retention_days: float) -> int:
        """Daily retention: old trades and the delivery records that point to them."""
        async with self._pool.acquire() as conn:
            return await queries.prune_trades(conn, retention_days)

    def queue_depth(self) -> int:
        return self.queue.qsize()
