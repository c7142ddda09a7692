"""The order sync pass: expire old orders, retry open ones against the current books, end the
orders and positions of closed, vanished or resolved markets, and mark positions to market.

Why it is shaped like this:

* One ``/book`` per token per pass, whatever the number of orders: books are fetched once, then
  every order walks its own copy (see :func:`~bot.copytrading.fills.plan_fills`).
* Money moves only inside one transaction per fill, and each starts with a guarded write (the
  order ``WHERE status = expected AND version = expected``), so a crash, a cancelled pass or a
  second process can never apply a fill twice; a lost race is counted as a conflict.
* Every status change asks :func:`~bot.copytrading.lifecycle.transition` first; the SQL guards
  make the same table hold under concurrency.
* Each step is its own guarded transaction, so a pass may be cancelled anywhere and simply run
  again. Its side-by-side work (books, market lookups, fills of different portfolios) runs under
  :func:`~bot.workers.run_together`, so a cancelled pass ends only once every fill
  it started has committed or rolled back: nothing of it lands after the caller moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import asyncpg

from bot.copytrading.common import Clock, MarketLookup, maybe_await, utc
from bot.copytrading.copies import CopiedWallets
from bot.copytrading.fills import (
    SHARE_DUST,
    add_taken,
    fill_totals,
    plan_fills,
    status_after_fill,
)
from bot.copytrading.lifecycle import OPEN_STATUSES, sources_of, transition
from bot.copytrading.models import (
    MISSING_BOOK,
    BookResult,
    Books,
    Fill,
    OrderStats,
    OrderStatus,
    PaperOrder,
    PaperPosition,
    SyncReport,
)
from bot.copytrading.portfolio import Portfolios
from bot.copytrading.settlement import count_missing, settle
from bot.polymarket.gamma import ClobAPI
from bot.polymarket.http import UpstreamError
from bot.polymarket.records import Market
from bot.workers import run_together
from db import copytrading_queries as queries
from db import portfolio_queries
from db.pool import Connection

log = logging.getLogger(__name__)

Jobs = Sequence[tuple[PaperOrder, list[Fill]]]


class OrderSync:
    """The sync pass and the fill pass it shares with the writer's first try of a new order."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clob: ClobAPI,
        *,
        market_of: MarketLookup,
        copied: CopiedWallets,
        portfolios: Portfolios,
        stats: OrderStats,
        order_ttl: float,
        clock: Clock,
        book_concurrency: int,
        fill_concurrency: int,
    ) -> None:
        self._pool = pool
        self._clob = clob
        self._market_of = market_of
        self._copied = copied
        self._portfolios = portfolios
        self._stats = stats
        self._order_ttl = order_ttl
        self._clock = clock
        self._book_concurrency = max(1, book_concurrency)
        self._fill_concurrency = max(1, fill_concurrency)
        self._lock = asyncio.Lock()

    async def run(self) -> SyncReport:
        """One pass: expire old orders, retry open ones against books fetched once per token,
        cancel or lose orders of closed or vanished markets, settle resolved positions, mark
        positions to market and write the hourly snapshot."""
        async with self._lock:
            started = time.perf_counter()
            report = SyncReport()
            await self._copied.refresh()
            now = self._clock()
            orders, positions = await self._expire_and_load(now, report)
            report.open_orders = len(orders)
            tokens = {o.asset: o.condition_id for o in orders}
            for p in positions:
                tokens.setdefault(p.asset, p.condition_id)
            books = await self._fetch_books(tokens, report)
            markets = await self._lookup_markets(
                {cid for token, cid in tokens.items() if books.get(token) is MISSING_BOOK}, report
            )
            await self.fill_pass(orders, report, books=books, markets=markets)
            settled_at = utc(self._clock())
            await settle(self._pool, positions, books, markets, now=settled_at, report=report)
            await self._portfolios.mark(books, now, report)
            report.seconds = time.perf_counter() - started
            self._stats.syncs += 1
            self._stats.last_sync = report
            return report

    async def _expire_and_load(
        self, now: float, report: SyncReport
    ) -> tuple[list[PaperOrder], list[PaperPosition]]:
        """Cancel orders older than the TTL, then read what is still open."""
        async with self._pool.acquire() as conn:
            expired = await queries.cancel_where(
                conn,
                from_statuses=sources_of(OrderStatus.CANCELLED),
                reason="expired",
                now=utc(now),
                created_before=utc(now - self._order_ttl),
            )
            report.expired = len(expired)
            self._stats.count_reason("expired", len(expired))
            orders = await queries.open_orders(conn, sorted(OPEN_STATUSES))
            positions = await portfolio_queries.open_positions(conn)
        return orders, positions

    async def _fetch_books(
        self, tokens: Iterable[str], report: SyncReport
    ) -> dict[str, BookResult]:
        """Each token's book once: a dict, MISSING_BOOK (400/404: closed or unknown) or None (an
        upstream failure: nothing is decided about that token this pass)."""
        semaphore = asyncio.Semaphore(self._book_concurrency)
        books: dict[str, BookResult] = {}

        async def one(token: str) -> None:
            async with semaphore:
                try:
                    books[token] = await self._clob.book(token)
                    report.books_fetched += 1
                except UpstreamError as exc:
                    if exc.status in (400, 404):
                        books[token] = MISSING_BOOK
                        report.books_missing += 1
                    else:
                        books[token] = None
                        report.book_errors += 1
                        log.warning("book of %s unavailable: %s", token[:12], exc)

        await run_together(one(token) for token in tokens)
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
                    found[cid] = await maybe_await(self._market_of(cid))
                    report.markets_checked += 1
                except Exception as exc:
                    log.warning("market %s lookup failed: %s", cid[:12], exc)

        await run_together(one(cid) for cid in set(condition_ids))
        return found

    async def fill_pass(
        self,
        orders: Sequence[PaperOrder],
        report: SyncReport,
        *,
        books: Books | None = None,
        markets: Mapping[str, Market | None] | None = None,
        in_sync: bool = True,
    ) -> None:
        """Try to fill ``orders`` against their books (fetched here unless given), then write
        what the plan decided: cancellations, fills, touched and missing orders."""
        if books is None:
            books = await self._fetch_books({o.asset for o in orders}, report)
        if markets is None:
            markets = await self._lookup_markets(
                {o.condition_id for o in orders if books.get(o.asset) is MISSING_BOOK}, report
            )
        now = utc(self._clock())
        plan = plan_fills(orders, books, markets, in_sync=in_sync)
        for order in plan.closed:
            await self._cancel(order, "market closed", now, report)
        await self._apply_fills(plan.fills, now, report)
        await self._touch(plan.untouched, now, report)
        await count_missing(self._pool, plan.missing, now=now, report=report, stats=self._stats)

    async def _touch(self, orders: Sequence[PaperOrder], now: datetime, report: SyncReport) -> None:
        """Orders tried without a fill: PLACED ones become PENDING, the rest keep their status
        (both by the transition table), in one batch update per status. Only orders whose state
        changes are written (a new status, or a missing-market count to clear): an open order
        that simply waits costs no write, so a pass over 10,000 waiting orders writes nothing."""
        report.unfilled += len(orders)
        changed = [o for o in orders if o.status == "PLACED" or o.missing_syncs > 0]
        if not changed:
            return
        async with self._pool.acquire() as conn:
            orders = changed
            for status in {o.status for o in orders}:
                target = transition(status, OrderStatus.PENDING if status == "PLACED" else status)
                ids = [o.id for o in orders if o.status == status]
                await queries.touch_orders(conn, ids, [status], target.value, now)

    async def _cancel(
        self, order: PaperOrder, reason: str, now: datetime, report: SyncReport
    ) -> None:
        """One guarded cancellation; an order that moved on meanwhile counts as a conflict."""
        target = transition(order.status, OrderStatus.CANCELLED)
        async with self._pool.acquire() as conn:
            done = await queries.set_status(
                conn, order.id, order.status, order.version, target, reason, now
            )
        if done:
            report.cancelled_closed += 1
            self._stats.count_reason(reason)
        else:
            report.conflicts += 1

    async def _apply_fills(
        self, by_portfolio: Mapping[int, Jobs], now: datetime, report: SyncReport
    ) -> None:
        """Fills of different portfolios touch disjoint rows, so they run side by side (a few
        connections); one portfolio's fills run in order, so they never wait on each other."""
        semaphore = asyncio.Semaphore(self._fill_concurrency)

        async def portfolio_fills(jobs: Jobs) -> None:
            async with semaphore:
                for order, fills in jobs:
                    if order.side == "BUY":
                        await self._apply_buy(order, fills, now, report)
                    else:
                        await self._apply_sell(order, fills, now, report)

        await run_together(portfolio_fills(jobs) for jobs in by_portfolio.values())

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
            await _sell_from_position(conn, position, held, shares, usd, now)
        if target == OrderStatus.FILLED:
            report.filled += 1
        else:
            report.partial += 1


async def _sell_from_position(
    conn: Connection,
    position: PaperPosition,
    held: float,
    shares: float,
    usd: float,
    now: datetime,
) -> None:
    """Shrink a locked position by a sold fill, realise its PnL and credit the proceeds.

    A closed position takes its whole cost basis with it (dust included), so cash + cost basis
    - realised PnL stays equal to what was deposited."""
    basis = position.cost_basis
    closed = held - shares <= SHARE_DUST
    released = basis if closed else basis * shares / held
    realized = usd - released
    await portfolio_queries.reduce_position(
        conn,
        portfolio_id=position.portfolio_id,
        asset=position.asset,
        size=0.0 if closed else held - shares,
        cost_basis=0.0 if closed else basis - released,
        realized=realized,
        closed=closed,
        settled=False,
        price=None,
        now=now,
    )
    await portfolio_queries.move_cash(conn, position.portfolio_id, usd, realized)
