"""ProfileService against real PostgreSQL and the local fake Polymarket: what /trader costs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.cache import HotCache
from bot.events import EventBus
from bot.polymarket.http import UpstreamError
from bot.traders.profiles import ProfileService
from db import profile_queries as queries
from tests.factories import Clock
from tests.fakes.polymarket import FakePolymarket
from tests.integration.leaderboard_helpers import fake_data_api, leaderboard_factory

UNKNOWN = "0x" + "9" * 40  # a wallet the fake knows nothing of: three empty pages
DETAILS_TTL = 600.0


class StatementLog:
    """Every statement run through the pool it wraps (a real asyncpg pool), in order."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.statements: list[str] = []

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self._pool.acquire() as conn:
            yield _LoggingConnection(conn, self.statements)

    def trader_reads(self) -> int:
        """SELECTs of a stored trader's row (the ``traders`` table)."""
        return sum(
            1 for sql in self.statements if sql.startswith("SELECT") and " FROM traders " in sql
        )


class _LoggingConnection:
    def __init__(self, conn: asyncpg.Connection, statements: list[str]) -> None:
        self._conn = conn
        self._statements = statements

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._conn, name)
        if name not in {"execute", "executemany", "fetch", "fetchrow", "fetchval"}:
            return attribute

        def logged(sql: str, *args: Any, **kwargs: Any) -> Any:
            self._statements.append(sql)
            return attribute(sql, *args, **kwargs)

        return logged


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    async with FakePolymarket(n_traders=5, seed=11) as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock(1_800_000_000.0)


@pytest.fixture
def statements(pool: asyncpg.Pool) -> StatementLog:
    return StatementLog(pool)


@pytest.fixture
async def profiles(
    fake: FakePolymarket, pool: asyncpg.Pool, statements: StatementLog, clock: Clock
) -> AsyncIterator[ProfileService]:
    async with aiohttp.ClientSession() as session:
        leaderboard = leaderboard_factory(session, fake, pool)()  # no boards: nobody ranked
        logged: Any = statements
        yield ProfileService(
            logged,
            fake_data_api(session, fake),
            leaderboard,
            HotCache(),
            EventBus(),
            ttl=300.0,
            details_ttl=DETAILS_TTL,
            clock=clock,
        )


def a_trader(fake: FakePolymarket) -> str:
    return next(wallet for wallet, trader in fake.traders.items() if trader.activity)


async def test_an_unknown_trader_is_read_from_postgresql_once(
    profiles: ProfileService, statements: StatementLog, fake: FakePolymarket
) -> None:
    wallet = a_trader(fake)
    profile = await profiles.get(wallet)
    assert profile.wallet == wallet and profile.markets_traded > 0
    assert fake.calls["/positions"] == 1 and fake.calls["/activity"] == 1
    assert statements.trader_reads() == 1


async def test_a_wallet_without_activity_is_read_from_postgresql_once(
    profiles: ProfileService, statements: StatementLog
) -> None:
    profile = await profiles.get(UNKNOWN)
    assert not profile.has_activity
    assert statements.trader_reads() == 1


async def test_stale_details_are_fetched_again_with_one_read(
    profiles: ProfileService, statements: StatementLog, fake: FakePolymarket, clock: Clock
) -> None:
    wallet = a_trader(fake)
    await profiles.get(wallet)
    profiles.forget_profiles()
    clock.now += DETAILS_TTL + 1
    statements.statements.clear()
    fake.reset_calls()

    await profiles.get(wallet)
    assert fake.calls["/positions"] == 1  # the details were too old: fetched again
    assert statements.trader_reads() == 1


async def test_empty_pages_never_replace_a_stored_trader_who_traded(
    profiles: ProfileService,
    statements: StatementLog,
    fake: FakePolymarket,
    clock: Clock,
    pool: asyncpg.Pool,
) -> None:
    wallet = a_trader(fake)
    stored = await profiles.get(wallet)
    async with pool.acquire() as conn:
        positions = await queries.load_positions(conn, wallet)
    assert positions and stored.markets_traded > 0
    profiles.forget_profiles()
    clock.now += DETAILS_TTL + 1
    for path in ("/positions", "/closed-positions", "/activity"):
        fake.inject(path, "empty_array")
    statements.statements.clear()

    profile = await profiles.get(wallet)
    assert fake.pending_faults == 0  # the three empty pages were served
    assert profile.markets_traded == stored.markets_traded  # the stored profile, not zeros
    assert profile.latest_trades == stored.latest_trades
    assert statements.trader_reads() == 1
    # the leaderboard refresh's hook is refused the same way
    with pytest.raises(UpstreamError):
        await profiles.record_details(wallet, [], [], [])
    async with pool.acquire() as conn:
        row = await queries.load_trader(conn, wallet)
        assert await queries.load_positions(conn, wallet) == positions  # nothing was written
    assert row is not None and row.markets_traded == stored.markets_traded
    assert row.details_at == stored.details_at


async def test_empty_pages_replace_a_stored_trader_who_never_traded(
    profiles: ProfileService, statements: StatementLog, clock: Clock
) -> None:
    first = await profiles.get(UNKNOWN)
    profiles.forget_profiles()
    clock.now += DETAILS_TTL + 1
    statements.statements.clear()

    again = await profiles.get(UNKNOWN)
    assert again.details_at == clock.now > first.details_at  # fetched and stored again
    assert statements.trader_reads() == 1


async def test_a_failing_endpoint_serves_the_stored_details(
    profiles: ProfileService, fake: FakePolymarket, clock: Clock
) -> None:
    wallet = a_trader(fake)
    stored = await profiles.get(wallet)
    profiles.forget_profiles()
    clock.now += DETAILS_TTL + 1
    fake.inject("/closed-positions", "500", count=2)  # two tries: failed for good

    profile = await profiles.get(wallet)
    assert fake.pending_faults == 0
    assert profile.details_at == stored.details_at  # the older stored details, not a part
    assert profile.markets_traded == stored.markets_traded


async def test_a_failing_endpoint_fails_an_unknown_traders_load_uncached(
    profiles: ProfileService, fake: FakePolymarket, pool: asyncpg.Pool
) -> None:
    wallet = a_trader(fake)
    fake.inject("/activity", "500", count=2)
    with pytest.raises(UpstreamError):
        await profiles.get(wallet)
    async with pool.acquire() as conn:
        assert await queries.load_trader(conn, wallet) is None  # nothing built from a part
    assert (await profiles.get(wallet)).markets_traded > 0  # the failure was not cached


async def test_the_daily_update_counts_a_trader_whose_fetch_failed_in_part(
    profiles: ProfileService, fake: FakePolymarket, pool: asyncpg.Pool, clock: Clock
) -> None:
    wallet = a_trader(fake)
    assert await profiles.refresh_details([wallet]) == 1
    async with pool.acquire() as conn:
        before = await queries.load_trader(conn, wallet)
    clock.now += 60
    fake.inject("/positions", "500", count=2)

    assert await profiles.refresh_details([wallet]) == 0
    async with pool.acquire() as conn:
        assert await queries.load_trader(conn, wallet) == before  # left as it was
