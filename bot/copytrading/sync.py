"""Paper copy-trading: copy configs, paper orders filled against the real order book, positions,
settlement and the /portfolio read model. No Discord here.

Why it is shaped like this:

* The alert path must never wait on copy trading, so ``on_trade_stored`` only enqueues a trade
  key; a writer task turns it into orders (one per active copy of that wallet) and retries
  failed writes instead of dropping them.
* A duplicate trade (stream and backfill, a retry, two processes) must never make a second
  order: the order's idempotency key (config id + trade key) is UNIQUE in PostgreSQL, and an
  in-memory set only covers the moment before the row exists.
* Money moves only inside one transaction per fill or settlement, and every such transaction
  starts with a guarded write (an order ``WHERE status = expected AND version = expected``, a
  settlement's UNIQUE key), so a crash, a cancelled sync or a second process can never apply a
  fill or a payout twice.
* Every status change goes through :func:`transition` (one table, one place); the SQL guards
  make the same table hold under concurrency.
* Fills are simulated against CLOB ``/book``, whose levels arrive worst-first (best = last,
  ../shared/polymarket-api.md §3), so the fill model sorts levels itself and never trusts [0].
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.copytrading.fills import (
    SHARE_DUST,
    add_taken,
    book_mid,
    fill_totals,
    limit_price,
    parse_levels,
    sell_fraction,
    status_after_fill,
    walk_book,
    without_taken,
)
from bot.copytrading.lifecycle import OPEN_STATUSES, sources_of, transition
from bot.copytrading.models import (
    CopyConfig,
    Fill,
    Level,
    OrderStats,
    OrderStatus,
    PaperOrder,
    PaperPosition,
    PortfolioView,
    PositionView,
    StopResult,
    SyncReport,
)
from bot.errors import UserError
from bot.events import Event
from bot.polymarket.gamma import ClobAPI
from bot.polymarket.http import UpstreamError
from bot.polymarket.records import Market, RecordError, Trade, normalize_wallet
from bot.services.follows import BACKDATE_TOLERANCE
from db import copytrading_queries as queries
from db import portfolio_queries, trade_queries

log = logging.getLogger(__name__)

DEFAULT_MAX_SLIPPAGE = 0.02  # COPY_MAX_SLIPPAGE: 2¢ from the copied trade's price
DEFAULT_ORDER_TTL = 3600.0  # ORDER_TTL_SECONDS
MIN_ORDER_USD = 1.0  # below this a BUY is not worth placing ("budget exhausted")
MIN_BUDGET_USD = 1.0
MAX_BUDGET_USD = 1_000_000.0
MAX_ACTIVE_COPIES = 10  # per user per guild: bounds the orders one user can make per trade
LOST_AFTER_SYNCS = 3  # a market missing this many syncs in a row makes its orders LOST
SNAPSHOT_SECONDS = 3600  # one value point per portfolio per hour

MarketLookup = Callable[[str], Awaitable[Market | None] | Market | None]
PositionLookup = Callable[[str, str], Awaitable[float | None] | float | None]


# ---- records -------------------------------------------------------------------------------


class CopyConfigError(UserError):
    """A copy cannot be started as asked; the message is fit to show the user."""


_MISSING = object()  # a book that does not exist (404): the market closed or is unknown


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


# ---- the service ---------------------------------------------------------------------------


class OrderService:
    """Copy configs, the order writer, the sync pass and the portfolio read model."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clob: ClobAPI,
        *,
        market_of: MarketLookup,
        position_of: PositionLookup | None = None,
        max_slippage: float = DEFAULT_MAX_SLIPPAGE,
        order_ttl: float = DEFAULT_ORDER_TTL,
        clock: Callable[[], float] = time.time,
        retry_delay: float = 1.0,
        book_concurrency: int = 16,
        fill_concurrency: int = 4,
        max_bug_retries: int = 5,
    ) -> None:
        self._pool = pool
        self._clob = clob
        self._market_of = market_of
        self._position_of = position_of
        self.max_slippage = max_slippage
        self.order_ttl = order_ttl
        self._clock = clock
        self._retry_delay = retry_delay
        self._book_concurrency = max(1, book_concurrency)
        self._fill_concurrency = max(1, fill_concurrency)
        self._max_bug_retries = max_bug_retries
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()  # keys queued or being written: the pre-row dedupe window
        self._copied: set[str] | None = None  # wallets with an active copy (None: not loaded)
        self._writer: asyncio.Task[None] | None = None
        self._sync_lock = asyncio.Lock()
        self._snapshot_hour: int | None = None
        self.stats = OrderStats()

    # ---- copy configs -----------------------------------------------------------------------

    async def start_copy(
        self, guild_id: int, user_id: int, wallet: str, budget_usd: float, per_trade_usd: float
    ) -> CopyConfig:
        """Start copying ``wallet``: deposits the budget as paper cash (creating the portfolio)."""
        try:
            wallet = normalize_wallet(wallet)
        except RecordError:
            raise CopyConfigError("That is not a wallet address (0x followed by 40 hex).") from None
        if not MIN_BUDGET_USD <= budget_usd <= MAX_BUDGET_USD:
            raise CopyConfigError(
                f"The budget must be between ${MIN_BUDGET_USD:,.0f} and ${MAX_BUDGET_USD:,.0f}."
            )
        if not MIN_ORDER_USD <= per_trade_usd <= budget_usd:
            raise CopyConfigError(
                f"The size per trade must be at least ${MIN_ORDER_USD:,.0f} and at most the budget."
            )
        now = _dt(self._clock())
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if await queries.count_active_configs(conn, guild_id, user_id) >= MAX_ACTIVE_COPIES:
                    raise CopyConfigError(f"You can copy at most {MAX_ACTIVE_COPIES} traders.")
                portfolio_id = await portfolio_queries.deposit(
                    conn, guild_id, user_id, budget_usd, now
                )
                config = await queries.insert_config(
                    conn, portfolio_id, guild_id, user_id, wallet, budget_usd, per_trade_usd, now
                )
        except asyncpg.UniqueViolationError:
            raise CopyConfigError("You already copy that trader; stop it first.") from None
        await self._refresh_copied()
        return config

    async def stop_copy(self, guild_id: int, user_id: int, wallet: str) -> StopResult | None:
        """Stop a copy and cancel its open orders; positions stay until sold or resolved."""
        try:
            wallet = normalize_wallet(wallet)
        except RecordError:
            return None
        now = _dt(self._clock())
        async with self._pool.acquire() as conn, conn.transaction():
            config = await queries.deactivate_config(conn, guild_id, user_id, wallet, now)
            if config is None:
                return None
            cancelled = await queries.cancel_where(
                conn,
                from_statuses=sources_of(OrderStatus.CANCELLED),
                reason="copy stopped",
                now=now,
                config_id=config.id,
            )
        await self._refresh_copied()
        self._count_reason("copy stopped", len(cancelled))
        return StopResult(config, len(cancelled))

    async def copies(self, guild_id: int, user_id: int) -> list[CopyConfig]:
        async with self._pool.acquire() as conn:
            return await queries.configs_of(conn, guild_id, user_id)

    # ---- trades in: enqueue, then the writer ------------------------------------------------

    async def on_trade_stored(self, event: Event) -> None:
        """Bus handler of TRADE_STORED: enqueue only, so the alert path never waits on orders."""
        wallet = str(event.data.get("wallet", "")).lower()
        key = event.data.get("trade_key")
        if not isinstance(key, str) or not key:
            return
        if self._copied is not None and wallet not in self._copied:
            return
        if key in self._queued:
            self.stats.deduplicated += 1
            return
        self._queued.add(key)
        self.queue.put_nowait(key)
        self.stats.queued += 1

    def start(self) -> None:
        """Start the order writer (idempotent)."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_loop(), name="paper-orders"
            )

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Let the writer finish what is queued (bounded), then stop it. Whatever is still
        queued is not lost for good: the trades are stored, and the next start's catch-up
        enqueues every recent copied trade that has no order yet."""
        if self._writer is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), timeout=drain_seconds)
        except TimeoutError:
            log.warning("stopping with %d copied trades still queued", self.queue.qsize())
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def _write_loop(self) -> None:
        while True:  # a database still starting must not kill the writer before its first trade
            try:
                await self._refresh_copied()
                await self.catch_up()
                break
            except Exception as exc:  # the writer must outlive any one failure
                self.stats.write_failures += 1
                log.warning("paper-order catch-up failed (%s); retrying", exc)
                await asyncio.sleep(self._retry_delay)
        while True:
            key = await self.queue.get()
            try:
                await self._process_until_done(key)
            finally:
                self._queued.discard(key)
                self.queue.task_done()

    async def _process_until_done(self, key: str) -> None:
        """Transient failures (database, network) are retried until they pass; a bug is retried
        a few times, then logged with the trade key and skipped so it cannot block the queue."""
        bugs = 0
        while True:
            try:
                await self.process_trade(key)
                return
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                self.stats.write_failures += 1
                log.warning("paper orders for trade %s failed (%s); retrying", key, exc)
            except Exception:
                bugs += 1
                self.stats.write_failures += 1
                if bugs > self._max_bug_retries:
                    self.stats.dropped += 1
                    log.exception("giving up on paper orders for trade %s", key)
                    return
                log.exception("paper orders for trade %s failed; retrying", key)
            await asyncio.sleep(self._retry_delay)

    async def catch_up(self) -> int:
        """Enqueue recent trades of copied wallets that have no order for a copy that wants them:
        the ones a crash caught between storing the trade and writing its orders. Returns how
        many were enqueued (the idempotency key makes any overlap harmless)."""
        since = _dt(self._clock() - self.order_ttl)
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

    async def _refresh_copied(self) -> None:
        async with self._pool.acquire() as conn:
            self._copied = await queries.copied_wallets(conn)

    async def load(self) -> None:
        """Which wallets are copied: the trade stream must keep their trades."""
        await self._refresh_copied()

    def is_copied(self, wallet: str) -> bool:
        return self._copied is not None and wallet in self._copied

    def backfill_since(self) -> dict[str, float]:
        """Copied wallets and how far back a gap backfill is worth it: an older missed trade
        would only make orders that expire at once."""
        since = self._clock() - self.order_ttl
        return dict.fromkeys(self._copied or (), since)

    async def process_trade(self, trade_key: str) -> list[PaperOrder]:
        """Create this stored trade's orders (one per active copy of its wallet) and try to fill
        them at once. Safe to repeat: existing orders are found by their idempotency key."""
        async with self._pool.acquire() as conn:
            trade = await trade_queries.trade_by_key(conn, trade_key)
            if trade is None:
                return []
            configs = (
                await queries.all_configs_for_wallet(conn, trade.wallet)
                if trade.side == "SELL"
                else await queries.active_configs_for_wallet(conn, trade.wallet)
            )
            configs = [c for c in configs if trade.timestamp >= c.created_at - BACKDATE_TOLERANCE]
            done = await queries.configs_with_order(conn, [c.id for c in configs], trade.key)
        if done:
            self.stats.duplicates += len(done)
            configs = [c for c in configs if c.id not in done]
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
            await self._fill_pass(placed, SyncReport(), in_sync=False)
        async with self._pool.acquire() as conn:
            return [
                order
                for o in created
                if (order := await queries.order_by_id(conn, o.id)) is not None
            ]

    async def _trader_position(self, trade: Trade) -> float | None:
        """The copied trader's position before the sell; unknown (or failing) -> None, which
        sells everything: when the source cannot tell, following the exit is the safe side."""
        if self._position_of is None:
            return None
        try:
            value = await _maybe_await(self._position_of(trade.wallet, trade.asset))
        except Exception as exc:
            log.warning("position of %s unknown (%s); mirroring a full exit", trade.wallet, exc)
            return None
        return None if value is None else float(value)

    async def _create_order(
        self, config: CopyConfig, trade: Trade, fraction: float
    ) -> PaperOrder | None:
        """One transaction: lock the config, insert the order under its idempotency key, and
        reject it at once when there is no budget or nothing to sell."""
        now = _dt(self._clock())
        limit = limit_price(trade.side, trade.price, self.max_slippage)
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await queries.lock_config(conn, config.id)
            if locked is None or (not locked.active and trade.side == "BUY"):
                return None
            size_usd = size_shares = 0.0
            reject = ""
            if trade.side == "BUY":
                used = await queries.committed_usd(conn, config.id, sorted(OPEN_STATUSES))
                left = config.budget_usd - used
                if left < MIN_ORDER_USD:
                    reject = "budget exhausted"
                else:
                    size_usd = min(config.per_trade_usd, left)
            else:
                # Only this copy's own shares: another copy's may hold the same token.
                held = min(
                    await portfolio_queries.position_size(conn, config.portfolio_id, trade.asset),
                    await queries.config_net_shares(conn, config.id, trade.asset),
                )
                if not locked.active and held <= SHARE_DUST:
                    return None  # a stopped copy with nothing left has nothing to follow
                size_shares = held * fraction
                if size_shares <= SHARE_DUST:
                    reject, size_shares = "nothing to sell", 0.0
            order = await queries.insert_order(
                conn,
                config=config,
                trade=trade,
                limit_price=limit,
                size_usd=size_usd,
                size_shares=size_shares,
                now=now,
            )
            if order is None:
                self.stats.duplicates += 1
                return None
            self.stats.orders_created += 1
            if trade.side == "SELL":
                # The trader is leaving: this copy stops trying to buy what it still has open.
                stale = await queries.cancel_where(
                    conn,
                    from_statuses=sources_of(OrderStatus.CANCELLED),
                    reason="trader sold",
                    now=now,
                    config_id=config.id,
                    asset=trade.asset,
                    side="BUY",
                )
                self._count_reason("trader sold", len(stale))
            if reject:
                target = transition(order.status, OrderStatus.CANCELLED)
                await queries.set_status(
                    conn, order.id, order.status, order.version, target, reject, now
                )
                self._count_reason(reject)
                return await queries.order_by_id(conn, order.id)
        return order

    def _count_reason(self, reason: str, n: int = 1) -> None:
        if n:
            self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + n

    # ---- the sync pass ----------------------------------------------------------------------

    async def sync(self) -> SyncReport:
        """One pass: expire old orders, retry open ones against books fetched once per token,
        cancel or lose orders of closed or vanished markets, settle resolved positions, mark
        positions to market and write the hourly snapshot. Each step is its own guarded
        transaction, so the pass may be cancelled anywhere and simply run again."""
        async with self._sync_lock:
            started = time.perf_counter()
            report = SyncReport()
            await self._refresh_copied()
            now_ts = self._clock()
            now = _dt(now_ts)
            async with self._pool.acquire() as conn:
                expired = await queries.cancel_where(
                    conn,
                    from_statuses=sources_of(OrderStatus.CANCELLED),
                    reason="expired",
                    now=now,
                    created_before=_dt(now_ts - self.order_ttl),
                )
                report.expired = len(expired)
                self._count_reason("expired", len(expired))
                orders = await queries.open_orders(conn, sorted(OPEN_STATUSES))
                positions = await portfolio_queries.open_positions(conn)
            report.open_orders = len(orders)
            tokens = {o.asset: o.condition_id for o in orders}
            for p in positions:
                tokens.setdefault(p.asset, p.condition_id)
            books = await self._fetch_books(tokens, report)
            markets = await self._lookup_markets(
                {cid for token, cid in tokens.items() if books.get(token) is _MISSING}, report
            )
            await self._fill_pass(orders, report, books=books, markets=markets)
            await self._settle(positions, books, markets, report)
            prices = {
                token: mid
                for token, book in books.items()
                if isinstance(book, dict) and (mid := book_mid(book)) is not None
            }
            async with self._pool.acquire() as conn:
                await portfolio_queries.set_last_prices(conn, prices)
                hour = int(now_ts // SNAPSHOT_SECONDS) * SNAPSHOT_SECONDS
                if hour != self._snapshot_hour:
                    report.snapshots = await portfolio_queries.write_snapshots(conn, _dt(hour))
                    self._snapshot_hour = hour
            report.seconds = time.perf_counter() - started
            self.stats.syncs += 1
            self.stats.last_sync = report
            return report

    async def _fetch_books(self, tokens: Iterable[str], report: SyncReport) -> dict[str, Any]:
        """Each token's book once: a dict, _MISSING (404: closed or unknown) or None (an
        upstream failure: nothing is decided about that token this pass)."""
        semaphore = asyncio.Semaphore(self._book_concurrency)
        books: dict[str, Any] = {}

        async def one(token: str) -> None:
            async with semaphore:
                try:
                    books[token] = await self._clob.book(token)
                    report.books_fetched += 1
                except UpstreamError as exc:
                    if exc.status in (400, 404):
                        books[token] = _MISSING
                        report.books_missing += 1
                    else:
                        books[token] = None
                        report.book_errors += 1
                        log.warning("book of %s unavailable: %s", token[:12], exc)

        await asyncio.gather(*(one(token) for token in tokens))
        return books

    async def _lookup_markets(
        self, condition_ids: Iterable[str], report: SyncReport
    ) -> dict[str, Market | None]:
        """Markets of tokens whose book is gone: closed, resolved, or not found (None). A
        failing lookup leaves the id out, so nothing is counted against it."""
        found: dict[str, Market | None] = {}
        semaphore = asyncio.Semaphore(self._book_concurrency)

        async def one(cid: str) -> None:
            if not cid:
                found[cid] = None
                return
            async with semaphore:
                try:
                    found[cid] = await _maybe_await(self._market_of(cid))
                    report.markets_checked += 1
                except Exception as exc:
                    log.warning("market %s lookup failed: %s", cid[:12], exc)

        await asyncio.gather(*(one(cid) for cid in set(condition_ids)))
        return found

    async def _fill_pass(
        self,
        orders: Sequence[PaperOrder],
        report: SyncReport,
        *,
        books: dict[str, Any] | None = None,
        markets: dict[str, Market | None] | None = None,
        in_sync: bool = True,
    ) -> None:
        """Try to fill ``orders`` against their books. Only a sync pass counts a vanished
        market towards LOST ("three syncs in a row"); the writer's first try leaves it PENDING."""
        if books is None:
            books = await self._fetch_books({o.asset for o in orders}, report)
        if markets is None:
            markets = await self._lookup_markets(
                {o.condition_id for o in orders if books.get(o.asset) is _MISSING}, report
            )
        now = _dt(self._clock())
        untouched: list[PaperOrder] = []
        to_fill: dict[int, list[tuple[PaperOrder, list[Fill]]]] = {}
        missing: list[PaperOrder] = []
        levels_cache: dict[tuple[str, str], list[Level]] = {}
        for order in orders:
            book = books.get(order.asset)
            if book is None:
                continue  # upstream trouble: decide nothing
            if book is _MISSING:
                if order.condition_id not in markets:
                    continue
                market = markets[order.condition_id]
                if market is None:
                    (missing if in_sync else untouched).append(order)
                elif market.closed or market.resolved:
                    await self._cancel(order, "market closed", now, report)
                else:
                    untouched.append(order)  # listed but no book yet: try again later
                continue
            key = (order.asset, order.side)
            levels = levels_cache.get(key)
            if levels is None:
                levels = parse_levels(book.get("asks" if order.side == "BUY" else "bids"))
                levels_cache[key] = levels
            usable = without_taken(levels, order.taken)
            fills = walk_book(usable, order.side, order.remaining, order.limit_price)
            if not fills:
                untouched.append(order)
                continue
            to_fill.setdefault(order.portfolio_id, []).append((order, fills))
        await self._apply_fills(to_fill, now, report)
        await self._touch(untouched, now, report)
        await self._count_missing(missing, now, report)

    async def _touch(self, orders: Sequence[PaperOrder], now: datetime, report: SyncReport) -> None:
        """Orders tried without a fill: PLACED ones become PENDING, the rest keep their status
        (both by the transition table), in two batch updates rather than one per order."""
        report.unfilled += len(orders)
        async with self._pool.acquire() as conn:
            for status in {o.status for o in orders}:
                target = transition(status, OrderStatus.PENDING if status == "PLACED" else status)
                ids = [o.id for o in orders if o.status == status]
                await queries.touch_orders(conn, ids, [status], target.value, now)

    async def _count_missing(
        self, orders: Sequence[PaperOrder], now: datetime, report: SyncReport
    ) -> None:
        if not orders:
            return
        async with self._pool.acquire() as conn:
            missed = await queries.count_missing(
                conn, [o.id for o in orders], sorted(OPEN_STATUSES), now
            )
            for miss in missed:
                if miss.missing_syncs < LOST_AFTER_SYNCS:
                    continue
                target = transition(miss.status, OrderStatus.LOST)
                lost = await queries.set_status(
                    conn, miss.id, miss.status, miss.version, target, "market not found", now
                )
                if lost:
                    report.lost += 1
                    self._count_reason("market not found")

    async def _cancel(
        self, order: PaperOrder, reason: str, now: datetime, report: SyncReport
    ) -> None:
        target = transition(order.status, OrderStatus.CANCELLED)
        async with self._pool.acquire() as conn:
            done = await queries.set_status(
                conn, order.id, order.status, order.version, target, reason, now
            )
        if done:
            report.cancelled_closed += 1
            self._count_reason(reason)
        else:
            report.conflicts += 1

    async def _apply_fills(
        self,
        by_portfolio: Mapping[int, Sequence[tuple[PaperOrder, list[Fill]]]],
        now: datetime,
        report: SyncReport,
    ) -> None:
        """Fills of different portfolios touch disjoint rows, so they run side by side (a few
        connections); one portfolio's fills run in order, so they never wait on each other."""
        semaphore = asyncio.Semaphore(self._fill_concurrency)

        async def portfolio_fills(jobs: Sequence[tuple[PaperOrder, list[Fill]]]) -> None:
            async with semaphore:
                for order, fills in jobs:
                    await self._apply_fill(order, fills, now, report)

        await asyncio.gather(*(portfolio_fills(jobs) for jobs in by_portfolio.values()))

    async def _apply_buy(
        self, order: PaperOrder, fills: Sequence[Fill], now: datetime, report: SyncReport
    ) -> None:
        """A BUY fill is one transaction of two statements (order guard + position, then cash):
        four round trips instead of six, which is most of a busy sync pass."""
        shares, usd = fill_totals(fills)
        target = transition(
            order.status, status_after_fill("BUY", order.size_usd, order.filled_usd + usd)
        )
        async with self._pool.acquire() as conn, conn.transaction():
            applied = await queries.record_buy_fill(
                conn,
                order,
                status=target,
                shares=shares,
                usd=usd,
                taken=add_taken(order.taken, fills),
                now=now,
            )
            if applied:
                await portfolio_queries.move_cash(conn, order.portfolio_id, -usd)
        if not applied:
            report.conflicts += 1  # another sync filled it, or its position was settled
        elif target == OrderStatus.FILLED:
            report.filled += 1
        else:
            report.partial += 1

    async def _apply_fill(
        self, order: PaperOrder, fills: Sequence[Fill], now: datetime, report: SyncReport
    ) -> None:
        if order.side == "BUY":
            await self._apply_buy(order, fills, now, report)
        else:
            await self._apply_sell(order, fills, now, report)

    async def _apply_sell(
        self, order: PaperOrder, fills: Sequence[Fill], now: datetime, report: SyncReport
    ) -> None:
        """One transaction: lock the position (it may have shrunk since the order was sized),
        record the fill on the order if it is still as read (else stop: another sync got
        there), then shrink the position, realise the PnL and credit the cash."""
        shares, usd = fill_totals(fills)
        async with self._pool.acquire() as conn, conn.transaction():
            position = await portfolio_queries.lock_position(conn, order.portfolio_id, order.asset)
            held = position.size if position is not None and not position.settled else 0.0
            if shares > held:
                usd = usd * held / shares
                shares = held
            if position is None or shares <= SHARE_DUST:
                target = transition(order.status, OrderStatus.CANCELLED)
                ok = await queries.set_status(
                    conn, order.id, order.status, order.version, target, "nothing to sell", now
                )
                report.cancelled_closed += ok
                return
            # Selling the last shares held completes the order, whatever it asked for.
            goal = status_after_fill("SELL", order.size_shares, order.filled_shares + shares)
            if held - shares <= SHARE_DUST:
                goal = OrderStatus.FILLED
            target = transition(order.status, goal)
            taken = add_taken(order.taken, fills)
            if not await queries.record_fill(
                conn, order, status=target, shares=shares, usd=usd, taken=taken, now=now
            ):
                report.conflicts += 1
                return
            basis = position.cost_basis
            closed = held - shares <= SHARE_DUST
            # A closed position takes its whole cost basis with it (dust included), so
            # cash + cost basis - realized PnL stays equal to what was deposited.
            released = basis if closed else basis * shares / held
            realized = usd - released
            await portfolio_queries.reduce_position(
                conn,
                portfolio_id=order.portfolio_id,
                asset=order.asset,
                size=0.0 if closed else held - shares,
                cost_basis=0.0 if closed else basis - released,
                realized=realized,
                closed=closed,
                settled=False,
                price=None,
                now=now,
            )
            await portfolio_queries.move_cash(conn, order.portfolio_id, usd, realized)
        if target == OrderStatus.FILLED:
            report.filled += 1
        else:
            report.partial += 1

    async def _settle(
        self,
        positions: Sequence[PaperPosition],
        books: Mapping[str, Any],
        markets: Mapping[str, Market | None],
        report: SyncReport,
    ) -> None:
        """Pay resolved positions 1 or 0 per share, once: the settlement's UNIQUE key and the
        position lock make a second pass (or process) find nothing to do."""
        now = _dt(self._clock())
        for position in positions:
            if books.get(position.asset) is not _MISSING:
                continue  # a live book means an open market
            market = markets.get(position.condition_id)
            if market is None or not market.resolved:
                continue
            payout = _payout(market, position.asset)
            if payout is None:
                continue
            async with self._pool.acquire() as conn, conn.transaction():
                locked = await portfolio_queries.lock_position(
                    conn, position.portfolio_id, position.asset
                )
                if locked is None or locked.settled or locked.size <= 0:
                    continue
                size, basis = locked.size, locked.cost_basis
                realized = size * payout - basis
                if not await portfolio_queries.insert_settlement(
                    conn, locked, payout=payout, realized=realized, now=now
                ):
                    continue
                await portfolio_queries.reduce_position(
                    conn,
                    portfolio_id=locked.portfolio_id,
                    asset=locked.asset,
                    size=0.0,
                    cost_basis=0.0,
                    realized=realized,
                    closed=True,
                    settled=True,
                    price=payout,
                    now=now,
                )
                await portfolio_queries.move_cash(
                    conn, locked.portfolio_id, size * payout, realized
                )
            report.settled += 1

    # ---- the /portfolio read model ----------------------------------------------------------

    async def portfolio(
        self, guild_id: int, user_id: int, *, orders: int = 10, history_days: float = 30.0
    ) -> PortfolioView | None:
        """Cash, open positions marked at the last sync's price, realised PnL, win rate, the
        latest orders and the value history; None when the user never copied anyone."""
        since = _dt(self._clock() - history_days * 86_400)
        async with self._pool.acquire() as conn:
            book = await portfolio_queries.portfolio_of(conn, guild_id, user_id)
            if book is None:
                return None
            positions = await portfolio_queries.positions_of(conn, book.id)
            latest = await queries.latest_orders(conn, book.id, orders)
            history = await portfolio_queries.snapshots_of(conn, book.id, since)
            copies = await queries.configs_of(conn, guild_id, user_id)
        open_views = []
        closed = wins = 0
        for p in positions:
            if p.size > 0 and not p.settled:
                price = p.last_price
                value = p.size * (price if price is not None else p.avg_price)
                open_views.append(
                    PositionView(
                        asset=p.asset,
                        condition_id=p.condition_id,
                        title=p.title,
                        outcome=p.outcome,
                        size=p.size,
                        avg_price=p.avg_price,
                        cost_basis=p.cost_basis,
                        price=price,
                        value=value,
                        unrealized_pnl=value - p.cost_basis,
                        realized_pnl=p.realized_pnl,
                    )
                )
            elif p.closed_at is not None:
                closed += 1
                wins += p.realized_pnl > 0
        unrealized = sum(v.unrealized_pnl for v in open_views)
        return PortfolioView(
            guild_id=guild_id,
            user_id=user_id,
            cash=book.cash,
            deposited=book.deposited,
            realized_pnl=book.realized_pnl,
            unrealized_pnl=unrealized,
            value=book.cash + sum(v.value for v in open_views),
            positions=tuple(open_views),
            closed_positions=closed,
            winning_positions=wins,
            orders=tuple(latest),
            history=tuple(history),
            copies=tuple(copies),
        )


def _payout(market: Market, asset: str) -> float | None:
    """1 for the winning token, 0 for the others; a resolution without a clear winner (a 50-50
    split) pays the final price; None when it cannot be told yet."""
    if asset not in market.token_ids:
        return None
    index = market.token_ids.index(asset)
    if market.winner_index is not None:
        return 1.0 if market.winner_index == index else 0.0
    if index < len(market.prices) and 0.0 <= market.prices[index] <= 1.0:
        return market.prices[index]
    return None
