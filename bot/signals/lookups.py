"""The two facts signals learn from Polymarket once per key: a wallet's age and a market's tags.

Both are ``LearntOnce`` stores (memory, then PostgreSQL, then one coalesced, rate-limited
upstream lookup). The rates are the bot's own budget, far below the limits Polymarket publishes
(4,000 requests per 10 s for Gamma, 1,000 for the Data API), so the fresh-wallet signal can
never starve the leaderboard or the markets loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import asyncpg
from aiolimiter import AsyncLimiter

from bot.polymarket.accounts import AccountsAPI
from bot.polymarket.tags import MarketTagsAPI
from bot.signals.categories import categories_of
from bot.signals.learnt import LearntOnce
from bot.signals.models import MarketFacts, WalletAge
from db import signal_queries as queries

WALLET_LOOKUPS_PER_MINUTE = 300.0  # each is one /public-profile call, plus /activity at most
MARKET_LOOKUPS_PER_MINUTE = 600.0


def per_minute(rate: float) -> AsyncLimiter:
    """A limiter of ``rate`` per minute that allows a burst of one second's share."""
    per_second = rate / 60.0
    return AsyncLimiter(max(1.0, per_second), max(1.0, per_second) / per_second)


def wallet_ages(
    pool: asyncpg.Pool,
    accounts: AccountsAPI,
    *,
    rate: float = WALLET_LOOKUPS_PER_MINUTE,
    clock: Callable[[], float] = time.time,
) -> LearntOnce[WalletAge]:
    """When each wallet's account began: its profile's ``createdAt``, else its first trade,
    else now (Polymarket knows neither yet, so the wallet is as new as it gets)."""

    async def fetch(wallet: str) -> WalletAge:
        profile = await accounts.public_profile(wallet)
        if profile is not None and profile.created_at is not None:
            return WalletAge(profile.created_at, "profile")
        first = await accounts.first_trade_at(wallet)
        if first is not None:
            return WalletAge(first, "first_trade")
        return WalletAge(clock(), "first_seen")

    async def load(wallets: Sequence[str]) -> dict[str, WalletAge]:
        async with pool.acquire() as conn:
            return await queries.wallet_ages(conn, wallets)

    async def store(wallet: str, age: WalletAge) -> None:
        async with pool.acquire() as conn:
            await queries.record_wallet_age(conn, wallet, age)

    return LearntOnce(
        "wallet age", load_stored=load, fetch=fetch, store=store, limiter=per_minute(rate),
        clock=clock,
    )  # fmt: skip


def market_facts(
    pool: asyncpg.Pool,
    tags: MarketTagsAPI,
    *,
    rate: float = MARKET_LOOKUPS_PER_MINUTE,
    clock: Callable[[], float] = time.time,
) -> LearntOnce[MarketFacts]:
    """Each market's categories (from its tags), icon and tick size."""

    async def fetch(condition_id: str) -> MarketFacts | None:
        found = await tags.market_tags(condition_id)
        if found is None:
            return None
        return MarketFacts(condition_id, categories_of(found.tags), found.icon, found.tick_size)

    async def load(condition_ids: Sequence[str]) -> dict[str, MarketFacts]:
        async with pool.acquire() as conn:
            return await queries.market_facts(conn, condition_ids)

    async def store(condition_id: str, facts: MarketFacts) -> None:
        async with pool.acquire() as conn:
            await queries.record_market_facts(conn, facts)

    return LearntOnce(
        "market tags", load_stored=load, fetch=fetch, store=store, limiter=per_minute(rate),
        clock=clock,
    )  # fmt: skip
