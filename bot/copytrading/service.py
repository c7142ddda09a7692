"""The copy-trading service: the one object the bot wires, the cogs call and the tests drive.

Why a façade: the parts (copy configs, the order writer, the sync pass, settlement, the
portfolio read model) share one pool, one clock, one set of copied wallets and one set of
counters; building them here, in a written order, keeps that sharing in one place while each
part stays small enough to read and test on its own. Nothing here decides anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg

from bot.copytrading.common import Clock, MarketLookup, PositionLookup
from bot.copytrading.copies import CopiedWallets, CopyConfigs
from bot.copytrading.models import (
    CopyConfig,
    OrderStats,
    PaperOrder,
    PortfolioView,
    StopResult,
    SyncReport,
)
from bot.copytrading.portfolio import Portfolios
from bot.copytrading.sync import OrderSync
from bot.copytrading.writer import OrderWriter, TradeCopier
from bot.database import DatabaseGuard
from bot.events import TradesStored
from bot.polymarket.gamma import ClobAPI

DEFAULT_MAX_SLIPPAGE = 0.02  # COPY_MAX_SLIPPAGE: 2¢ from the copied trade's price
DEFAULT_ORDER_TTL = 3600.0  # ORDER_TTL_SECONDS


class CopyTradingService:
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
        clock: Clock = time.time,
        retry_delay: float = 1.0,
        book_concurrency: int = 16,
        fill_concurrency: int = 4,
        max_bug_retries: int = 5,
        database: DatabaseGuard | None = None,
        on_copies_changed: Callable[[], None] = lambda: None,
    ) -> None:
        """``on_copies_changed``: a copy started or stopped here (other processes re-read the
        copied wallets when the application passes that on)."""
        self._db = database or DatabaseGuard()  # the commands' reads and writes: bounded
        self._on_copies_changed = on_copies_changed
        self._max_slippage = max_slippage
        self._order_ttl = order_ttl
        self._clock = clock
        self.stats = OrderStats()
        self._copied = CopiedWallets(pool)
        self._configs = CopyConfigs(pool, self._copied, self.stats, clock)
        self._portfolios = Portfolios(pool, clock)
        self._sync = OrderSync(
            pool,
            clob,
            market_of=market_of,
            copied=self._copied,
            portfolios=self._portfolios,
            stats=self.stats,
            order_ttl=order_ttl,
            clock=clock,
            book_concurrency=book_concurrency,
            fill_concurrency=fill_concurrency,
        )
        self._copier = TradeCopier(
            pool,
            self._sync,
            stats=self.stats,
            position_of=position_of,
            max_slippage=max_slippage,
            clock=clock,
        )
        self._writer = OrderWriter(
            pool,
            copied=self._copied,
            stats=self.stats,
            # Through the public method, looked up at call time: what the service exposes (and
            # what a test wraps) is what the writer runs.
            write=lambda key: self.process_trade(key),
            order_ttl=order_ttl,
            clock=clock,
            retry_delay=retry_delay,
            max_bug_retries=max_bug_retries,
        )

    @property
    def max_slippage(self) -> float:
        """How far (dollars per share) a fill may walk the book from the copied price."""
        return self._max_slippage

    @property
    def order_ttl(self) -> float:
        """Seconds an unfilled order stays open."""
        return self._order_ttl

    @property
    def queue(self) -> asyncio.Queue[str]:
        """Trade keys waiting for the writer."""
        return self._writer.queue

    # ---- copy configs -----------------------------------------------------------------------

    async def start_copy(
        self, guild_id: int, user_id: int, wallet: str, budget_usd: float, per_trade_usd: float
    ) -> CopyConfig:
        """Start copying ``wallet``: deposits the budget as paper cash (creating the portfolio).
        Raises :class:`~bot.copytrading.copies.CopyConfigError` with a message for the user."""
        config = await self._db.run(
            lambda: self._configs.start(guild_id, user_id, wallet, budget_usd, per_trade_usd),
            "/copy start",
        )
        self._on_copies_changed()
        return config

    async def stop_copy(self, guild_id: int, user_id: int, wallet: str) -> StopResult | None:
        """Stop a copy and cancel its open orders; positions stay until sold or resolved."""
        result = await self._db.run(
            lambda: self._configs.stop(guild_id, user_id, wallet), "/copy stop"
        )
        if result is not None:
            self._on_copies_changed()
        return result

    async def copies(self, guild_id: int, user_id: int) -> list[CopyConfig]:
        """The user's active copies, oldest first."""
        return await self._db.run(lambda: self._configs.of(guild_id, user_id), "/copy")

    # ---- which wallets matter (the trade stream asks) ---------------------------------------

    async def load(self) -> None:
        """Which wallets are copied: the trade stream must keep their trades."""
        await self._copied.refresh()

    def is_copied(self, wallet: str) -> bool:
        """The trade stream's O(1) question: must this wallet's trades be kept?"""
        return wallet in self._copied

    def backfill_since(self) -> dict[str, float]:
        """Copied wallets and how far back a gap backfill is worth it: an older missed trade
        would only make orders that expire at once."""
        since = self._clock() - self.order_ttl
        return dict.fromkeys(self._copied.wallets, since)

    # ---- trades in: enqueue, then the writer ------------------------------------------------

    async def on_trades_stored(self, event: TradesStored) -> None:
        """Bus handler: enqueue only, so the alert path never waits on orders."""
        await self._writer.on_trades_stored(event)

    @property
    def writer(self) -> OrderWriter:
        """The order writer, a worker the application registers (and starts and stops)."""
        return self._writer

    async def start(self) -> None:
        """Start the order writer (tests; the application starts it as a worker)."""
        await self._writer.start()

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Let the writer finish what is queued (bounded), then stop it."""
        await self._writer.stop(drain_seconds)

    async def catch_up(self) -> int:
        """Enqueue recent copied trades that have no orders yet; returns how many."""
        return await self._writer.catch_up()

    async def process_trade(self, trade_key: str) -> list[PaperOrder]:
        """Create this stored trade's orders (one per copy of its wallet) and try to fill them
        at once. Safe to repeat: existing orders are found by their idempotency key."""
        return await self._copier.process_trade(trade_key)

    # ---- the sync pass and the read model ---------------------------------------------------

    async def sync(self) -> SyncReport:
        """One sync pass (the order sync loop calls this); safe to cancel and run again."""
        return await self._sync.run()

    async def portfolio(
        self, guild_id: int, user_id: int, *, orders: int = 10, history_days: float = 30.0
    ) -> PortfolioView | None:
        """What /portfolio shows, from PostgreSQL only; None when the user never copied."""
        return await self._db.run(
            lambda: self._portfolios.view(
                guild_id, user_id, orders=orders, history_days=history_days
            ),
            "/portfolio",
        )
