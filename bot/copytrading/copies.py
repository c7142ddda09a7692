"""Copy configs: start a copy (deposit its budget), stop it (cancel its open orders), list them,
and the set of wallets whose trades copy trading needs.

Why the wallet set lives here: it is a projection of the configs (wallets actively copied, plus
stopped copies that still hold shares the trader's sells must take out), read on every trade of
the stream (an O(1) filter) and refreshed whenever a config changes and at every sync.
"""

from __future__ import annotations

from collections.abc import Collection

import asyncpg

from bot.copytrading.common import Clock, utc
from bot.copytrading.lifecycle import sources_of
from bot.copytrading.models import CopyConfig, OrderStats, OrderStatus, StopResult
from bot.errors import UserError
from bot.polymarket.records import RecordError, normalize_wallet
from db import copytrading_queries as queries
from db import portfolio_queries

MIN_ORDER_USD = 1.0  # below this a BUY is not worth placing ("budget exhausted")
MIN_BUDGET_USD = 1.0
MAX_BUDGET_USD = 1_000_000.0
MAX_ACTIVE_COPIES = 10  # per user per guild: bounds the orders one user can make per trade


class CopyConfigError(UserError):
    """A copy cannot be started as asked; the message is fit to show the user."""


def checked_wallet(wallet: str, budget_usd: float, per_trade_usd: float) -> str:
    """The normalised wallet of a copy that may be started, or :class:`CopyConfigError` saying
    what to change. Checked before any write, so a refused copy costs no transaction."""
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
    return wallet


class CopiedWallets:
    """Wallets whose trades make paper orders, as last read from PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._wallets: set[str] | None = None  # None: not loaded yet

    @property
    def loaded(self) -> bool:
        """False until the first refresh: until then no trade may be ignored as uncopied."""
        return self._wallets is not None

    @property
    def wallets(self) -> Collection[str]:
        """Every copied wallet (none before the first refresh)."""
        return self._wallets if self._wallets is not None else frozenset()

    def __contains__(self, wallet: object) -> bool:
        return self._wallets is not None and wallet in self._wallets

    async def refresh(self) -> None:
        """Re-read the set: after a copy starts or stops, and at each sync (a stopped copy drops
        out once its last shares are sold or settled)."""
        async with self._pool.acquire() as conn:
            self._wallets = await queries.copied_wallets(conn)


class CopyConfigs:
    """Starting, stopping and listing copies; every change refreshes :class:`CopiedWallets`."""

    def __init__(
        self, pool: asyncpg.Pool, copied: CopiedWallets, stats: OrderStats, clock: Clock
    ) -> None:
        self._pool = pool
        self._copied = copied
        self._stats = stats
        self._clock = clock

    async def start(
        self, guild_id: int, user_id: int, wallet: str, budget_usd: float, per_trade_usd: float
    ) -> CopyConfig:
        """Start copying ``wallet``: deposits the budget as paper cash (creating the portfolio)."""
        wallet = checked_wallet(wallet, budget_usd, per_trade_usd)
        now = utc(self._clock())
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
        await self._copied.refresh()
        return config

    async def stop(self, guild_id: int, user_id: int, wallet: str) -> StopResult | None:
        """Stop a copy and cancel its open orders; positions stay until sold or resolved."""
        try:
            wallet = normalize_wallet(wallet)
        except RecordError:
            return None
        now = utc(self._clock())
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
        await self._copied.refresh()
        self._stats.count_reason("copy stopped", len(cancelled))
        return StopResult(config, len(cancelled))

    async def of(self, guild_id: int, user_id: int) -> list[CopyConfig]:
        """The user's active copies, oldest first."""
        async with self._pool.acquire() as conn:
            return await queries.configs_of(conn, guild_id, user_id)
