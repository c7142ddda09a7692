"""The order writer: every stored trade of a copied trader becomes paper orders, off the alert
path.

Why it is shaped like this:

* The alert path must never wait on copy trading, so ``on_trades_stored`` only enqueues the
  trade keys of a stored batch, in its order; one writer task turns each into orders (one per
  copy of that wallet) and retries failed writes instead of dropping them. A trade still queued
  at shutdown is not lost: the trade is stored, and the next start's catch-up enqueues every
  recent copied trade without its orders.
* A duplicate trade (stream and backfill, a retry, two processes) must never make a second
  order: the order's idempotency key (config id + trade key) is UNIQUE in PostgreSQL, and the
  in-memory set of queued keys only covers the moment before the row exists.
* An order is sized, inserted and (when it cannot be placed) cancelled in one transaction under
  its config's row lock, so two writers can never both spend a copy's last dollar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from bot.copytrading.common import Clock, PositionLookup, maybe_await, utc
from bot.copytrading.copies import MIN_ORDER_USD, CopiedWallets
from bot.copytrading.fills import SHARE_DUST, limit_price, sell_fraction
from bot.copytrading.lifecycle import OPEN_STATUSES, sources_of, transition
from bot.copytrading.models import CopyConfig, OrderStats, OrderStatus, PaperOrder, SyncReport
from bot.copytrading.sync import OrderSync
from bot.events import TradesStored
from bot.polymarket.records import Trade
from bot.trades.models import BACKDATE_TOLERANCE
from bot.workers import Role, WorkerStatus, cancel_and_wait
from db import copytrading_queries as queries
from db import portfolio_queries, trade_queries
from db.pool import Connection

log = logging.getLogger(__name__)


# ---- sizing (pure) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderSize:
    """What a new order asks for (BUY: dollars, SELL: shares), or why it is cancelled at once."""

    usd: float = 0.0
    shares: float = 0.0
    reject: str = ""


def buy_size(budget_usd: float, per_trade_usd: float, committed_usd: float) -> OrderSize:
    """The copy's size per trade, capped by what is left of its budget after filled and open
    BUYs; "budget exhausted" when less than the smallest order is left."""
    left = budget_usd - committed_usd
    if left < MIN_ORDER_USD:
        return OrderSize(reject="budget exhausted")
    return OrderSize(usd=min(per_trade_usd, left))


def sell_size(held: float, fraction: float) -> OrderSize:
    """The trader's sold share of what this copy holds; "nothing to sell" when that is dust."""
    shares = held * fraction
    if shares <= SHARE_DUST:
        return OrderSize(reject="nothing to sell")
    return OrderSize(shares=shares)


# ---- trade -> orders -----------------------------------------------------------------------


class TradeCopier:
    """Turns one stored trade into its paper orders and tries to fill them at once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        sync: OrderSync,
        *,
        stats: OrderStats,
        position_of: PositionLookup | None,
        max_slippage: float,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._sync = sync
        self._stats = stats
        self._position_of = position_of
        self._max_slippage = max_slippage
        self._clock = clock

    async def process_trade(self, trade_key: str) -> list[PaperOrder]:
        """Create this stored trade's orders (one per active copy of its wallet) and try to fill
        them at once. Safe to repeat: existing orders are found by their idempotency key."""
        async with self._pool.acquire() as conn:
            trade = await trade_queries.trade_by_key(conn, trade_key)
            if trade is None:
                return []
            configs = await self._configs_to_copy(conn, trade)
        if not configs:
            return []
        fraction = 1.0
        if trade.side == "SELL":
            fraction = sell_fraction(trade.size, await self._trader_position(trade))
        created = []
        for config in configs:
            order = await self._create_order(config, trade, fraction)
            if order is not None:
                created.append(order)
        placed = [o for o in created if o.status == OrderStatus.PLACED]
        if placed:
            await self._sync.fill_pass(placed, SyncReport(), in_sync=False)
        async with self._pool.acquire() as conn:
            return [
                order
                for o in created
                if (order := await queries.order_by_id(conn, o.id)) is not None
            ]

    async def _configs_to_copy(self, conn: Connection, trade: Trade) -> list[CopyConfig]:
        """Copies that want this trade and have no order for it yet. A SELL goes to stopped
        copies too (they still follow the trader out of their shares); a trade from before a
        copy began (beyond the backfill tolerance) is not copied."""
        configs = (
            await queries.all_configs_for_wallet(conn, trade.wallet)
            if trade.side == "SELL"
            else await queries.active_configs_for_wallet(conn, trade.wallet)
        )
        configs = [c for c in configs if trade.timestamp >= c.created_at - BACKDATE_TOLERANCE]
        done = await queries.configs_with_order(conn, [c.id for c in configs], trade.key)
        if done:
            self._stats.duplicates += len(done)
            configs = [c for c in configs if c.id not in done]
        return configs

    async def _trader_position(self, trade: Trade) -> float | None:
        """The copied trader's position before the sell; unknown (or failing) -> None, which
        sells everything: when the source cannot tell, following the exit is the safe side."""
        if self._position_of is None:
            return None
        try:
            value = await maybe_await(self._position_of(trade.wallet, trade.asset))
        except Exception as exc:
            log.warning("position of %s unknown (%s); mirroring a full exit", trade.wallet, exc)
            return None
        return None if value is None else float(value)

    async def _create_order(
        self, config: CopyConfig, trade: Trade, fraction: float
    ) -> PaperOrder | None:
        """One transaction: lock the config, insert the order under its idempotency key, and
        reject it at once when there is no budget or nothing to sell."""
        now = utc(self._clock())
        limit = limit_price(trade.side, trade.price, self._max_slippage)
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await queries.lock_config(conn, config.id)
            if locked is None or (not locked.active and trade.side == "BUY"):
                return None
            size = await self._size(conn, config, locked, trade, fraction)
            if size is None:
                return None
            order = await queries.insert_order(
                conn,
                config=config,
                trade=trade,
                limit_price=limit,
                size_usd=size.usd,
                size_shares=size.shares,
                now=now,
            )
            if order is None:
                self._stats.duplicates += 1
                return None
            self._stats.orders_created += 1
            if trade.side == "SELL":
                await self._cancel_open_buys(conn, config, trade, now)
            if size.reject:
                return await self._reject(conn, order, size.reject, now)
        return order

    async def _size(
        self,
        conn: Connection,
        config: CopyConfig,
        locked: CopyConfig,
        trade: Trade,
        fraction: float,
    ) -> OrderSize | None:
        """The new order's size under the config lock; None when a stopped copy has nothing
        left to follow (no order at all)."""
        if trade.side == "BUY":
            used = await queries.committed_usd(conn, config.id, sorted(OPEN_STATUSES))
            return buy_size(config.budget_usd, config.per_trade_usd, used)
        # Only this copy's own shares: another copy's may hold the same token.
        held = min(
            await portfolio_queries.position_size(conn, config.portfolio_id, trade.asset),
            await queries.config_net_shares(conn, config.id, trade.asset),
        )
        if not locked.active and held <= SHARE_DUST:
            return None
        return sell_size(held, fraction)

    async def _cancel_open_buys(
        self, conn: Connection, config: CopyConfig, trade: Trade, now: datetime
    ) -> None:
        """The trader is leaving: this copy stops trying to buy what it still has open."""
        stale = await queries.cancel_where(
            conn,
            from_statuses=sources_of(OrderStatus.CANCELLED),
            reason="trader sold",
            now=now,
            config_id=config.id,
            asset=trade.asset,
            side="BUY",
        )
        self._stats.count_reason("trader sold", len(stale))

    async def _reject(
        self, conn: Connection, order: PaperOrder, reason: str, now: datetime
    ) -> PaperOrder | None:
        """Cancel a just-inserted order that cannot be placed; returns it as stored."""
        target = transition(order.status, OrderStatus.CANCELLED)
        await queries.set_status(conn, order.id, order.status, order.version, target, reason, now)
        self._stats.count_reason(reason)
        return await queries.order_by_id(conn, order.id)


# ---- the queue and its task ----------------------------------------------------------------


class OrderWriter:
    """The queue of stored trades to copy and the one task that drains it.

    ``write`` is called once per queued trade key until it succeeds (or a bug is given up on);
    the service passes its own ``process_trade`` so that what it exposes is what runs."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        copied: CopiedWallets,
        stats: OrderStats,
        write: Callable[[str], Awaitable[object]],
        order_ttl: float,
        clock: Clock,
        retry_delay: float,
        max_bug_retries: int,
    ) -> None:
        self._pool = pool
        self._copied = copied
        self._stats = stats
        self._write = write
        self._order_ttl = order_ttl
        self._clock = clock
        self._retry_delay = retry_delay
        self._max_bug_retries = max_bug_retries
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()  # keys queued or being written: the pre-row dedupe window
        self._task: asyncio.Task[None] | None = None

    name = "order-writer"
    role = Role.LEADER

    def status(self) -> WorkerStatus:
        running = self._task is not None and not self._task.done()
        return WorkerStatus(self.name, self.role, running, f"queue {self.queue.qsize()}")

    async def on_trades_stored(self, event: TradesStored) -> None:
        """Bus handler: enqueue only, so the alert path never waits on orders. Each trade of
        the batch in its order, each on its own: one that cannot be enqueued is logged and
        costs no other (the catch-up at the next start finds it)."""
        for trade in event.trades:
            try:
                self.enqueue(trade.wallet, trade.trade_key)
            except Exception:
                log.exception("could not queue paper orders for trade %s", trade.trade_key)

    def enqueue(self, wallet: str, key: str) -> None:
        """Queue one stored trade for its orders, unless nobody copies its wallet or it is
        queued already (the pre-row half of exactly-once; the idempotency key is the rest)."""
        wallet = wallet.lower()
        if not key:
            return
        if self._copied.loaded and wallet not in self._copied:
            return
        if key in self._queued:
            self._stats.deduplicated += 1
            return
        self._queued.add(key)
        self.queue.put_nowait(key)
        self._stats.queued += 1

    async def start(self) -> None:
        """Start the writer task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._write_loop(), name="paper-orders"
            )

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Let the writer finish what is queued (bounded), then stop it. Whatever is still
        queued is not lost for good: the trades are stored, and the next start's catch-up
        enqueues every recent copied trade that has no order yet."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), timeout=drain_seconds)
        except TimeoutError:
            log.warning("stopping with %d copied trades still queued", self.queue.qsize())
        await cancel_and_wait(self._task)
        self._task = None

    async def catch_up(self) -> int:
        """Enqueue recent trades of copied wallets that have no order for a copy that wants them:
        the ones a crash caught between storing the trade and writing its orders. Returns how
        many were enqueued (the idempotency key makes any overlap harmless)."""
        since = utc(self._clock() - self._order_ttl)
        async with self._pool.acquire() as conn:
            keys = await queries.trades_without_orders(conn, since, BACKDATE_TOLERANCE)
        enqueued = 0
        for key in keys:
            if key not in self._queued:
                self._queued.add(key)
                self.queue.put_nowait(key)
                enqueued += 1
        if enqueued:
            log.info("catch-up: %d copied trades had no paper orders yet", enqueued)
        return enqueued

    async def _write_loop(self) -> None:
        """Catch up first (retrying until the database answers), then drain the queue for good:
        a key leaves the dedupe set only once its orders are written or given up on."""
        while True:  # a database still starting must not kill the writer before its first trade
            try:
                await self._copied.refresh()
                await self.catch_up()
                break
            except Exception as exc:  # the writer must outlive any one failure
                self._stats.write_failures += 1
                log.warning("paper-order catch-up failed (%s); retrying", exc)
                await asyncio.sleep(self._retry_delay)
        while True:
            key = await self.queue.get()
            try:
                await self._write_until_done(key)
            finally:
                self._queued.discard(key)
                self.queue.task_done()

    async def _write_until_done(self, key: str) -> None:
        """Transient failures (database, network) are retried until they pass; a bug is retried
        a few times, then logged with the trade key and skipped so it cannot block the queue."""
        bugs = 0
        while True:
            try:
                await self._write(key)
                return
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                self._stats.write_failures += 1
                log.warning("paper orders for trade %s failed (%s); retrying", key, exc)
            except Exception:
                bugs += 1
                self._stats.write_failures += 1
                if bugs > self._max_bug_retries:
                    self._stats.dropped += 1
                    log.exception("giving up on paper orders for trade %s", key)
                    return
                log.exception("paper orders for trade %s failed; retrying", key)
            await asyncio.sleep(self._retry_delay)
