"""LeaderboardService against real PostgreSQL and the local fake Polymarket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import asyncpg
import pytest

from bot.cache import HotCache
from bot.events import TRADE_STORED, EventBus
from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import PolymarketHTTP
from bot.services.boards import PERIODS
from bot.services.leaderboard import LeaderboardRefreshError, LeaderboardService
from bot.services.trader_stats import TraderStatsStore
from tests.fakes.polymarket import FakePolymarket

Factory = Callable[[], LeaderboardService]


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=40, seed=7)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def make_service(fake: FakePolymarket, pool: asyncpg.Pool) -> AsyncIterator[Factory]:
    """Builds services the way the bot does; several share the database like restarts would."""
    async with aiohttp.ClientSession() as session:

        async def quick_sleep(_: float) -> None:
            await asyncio.sleep(0)

        def build() -> LeaderboardService:
            http = PolymarketHTTP(
                session,
                hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url},
                timeout=0.5,
                max_retries=1,
                sleep=quick_sleep,
            )
            api = DataAPI(http)
            stats = TraderStatsStore(api, pool, ttl=600, refresh_interval=60, concurrency=4)
            return LeaderboardService(
                pool, api, stats, HotCache(), EventBus(), candidates=30, refresh_interval=60
            )

        yield build


async def test_refresh_ranks_persists_and_swaps(make_service: Factory, pool: asyncpg.Pool) -> None:
    service = make_service()
    assert service.page("week", "score", 1) is None
    report = await service.refresh()
    assert report.periods_ok == PERIODS and not report.periods_failed
    assert report.trader_count > 0 and report.details_fetched == report.trader_count

    pnl = service.board("week").by_metric["pnl"]
    assert [e.pnl for e in pnl] == sorted((e.pnl for e in pnl), reverse=True)
    score = service.board("week").by_metric["score"]
    assert [e.score for e in score] == sorted((e.score for e in score), reverse=True)
    page = service.page("week", "score", 2)
    assert page is not None and page.first_rank == 11 and len(page.entries) == 10
    assert not service.freshness("week").stale

    async with pool.acquire() as conn:
        metas = await conn.fetch("SELECT period, status, trader_count FROM leaderboard_snapshots")
        assert {(m["period"], m["status"]) for m in metas} == {(p, "SUCCESS") for p in PERIODS}
        stored = await conn.fetchval(
            "SELECT count(*) FROM leaderboard_entries e JOIN leaderboard_snapshots s"
            " ON s.id = e.snapshot_id WHERE s.period = 'week'"
        )
        assert stored == 3 * service.board("week").trader_count
        assert await conn.fetchval("SELECT count(*) FROM trader_stats") == report.trader_count


async def test_warm_start_answers_with_zero_upstream_calls(
    make_service: Factory, fake: FakePolymarket
) -> None:
    first = make_service()
    await first.refresh()
    expected = first.page("month", "pnl", 1)

    fake.reset_calls()
    restarted = make_service()
    assert await restarted.warm() == len(PERIODS)
    page = restarted.page("month", "pnl", 1)
    assert page is not None and page.entries == expected.entries
    assert restarted.stats.stats.keys() == first.stats.stats.keys()
    assert sum(fake.calls.values()) == 0


async def test_second_refresh_reuses_trader_details_within_ttl(
    make_service: Factory, fake: FakePolymarket
) -> None:
    service = make_service()
    await service.refresh()
    fake.reset_calls()
    report = await service.refresh()
    assert report.details_fetched == 0
    assert fake.calls["/positions"] == 0 and fake.calls["/v1/leaderboard"] > 0


async def test_a_trade_event_expires_that_traders_details(make_service: Factory) -> None:
    service = make_service()
    await service.refresh()
    wallet = service.board("all").by_metric["pnl"][0].wallet
    bus: EventBus = service._bus
    bus.publish(TRADE_STORED, wallet=wallet.upper())
    await bus.drain()
    report = await service.refresh()
    assert report.details_fetched == 1


async def test_failed_refresh_keeps_the_board_and_reports_stale(
    make_service: Factory, fake: FakePolymarket, pool: asyncpg.Pool
) -> None:
    service = make_service()
    await service.refresh()
    before = service.board("day")
    fake.fail_all("500")
    with pytest.raises(LeaderboardRefreshError):
        await service.refresh()
    assert service.board("day") is before
    freshness = service.freshness("day")
    assert freshness.stale and freshness.since == before.updated_at
    async with pool.acquire() as conn:
        failed = await conn.fetchval(
            "SELECT count(*) FROM leaderboard_snapshots WHERE status = 'FAILED'"
        )
    assert failed == len(PERIODS)
    fake.fail_all(None)
    await service.refresh()
    assert not service.freshness("day").stale


async def test_one_period_failing_does_not_block_the_others(
    make_service: Factory, fake: FakePolymarket
) -> None:
    service = make_service()
    original = service._api.leaderboard

    async def broken(period: str, order: str, total: int):  # type: ignore[no-untyped-def]
        if period == "day":
            raise RuntimeError("day is down")
        return await original(period, order, total)

    service._api.leaderboard = broken  # type: ignore[method-assign]
    report = await service.refresh()
    assert set(report.periods_failed) == {"day"}
    assert service.board("day") is None and service.board("week") is not None
    assert service.freshness("day").stale


async def test_concurrent_refreshes_are_joined(make_service: Factory, fake: FakePolymarket) -> None:
    service = make_service()
    fake.latency = 0.05
    first, second = await asyncio.gather(service.refresh(), service.refresh())
    assert first is second
    assert fake.calls["/v1/leaderboard"] == 8  # 4 periods x 2 orderings, 30 rows each: 1 page


async def test_old_entries_are_pruned(make_service: Factory, pool: asyncpg.Pool) -> None:
    service = make_service()
    for _ in range(3):
        await service.refresh()
    async with pool.acquire() as conn:
        snapshots_with_entries = await conn.fetchval(
            "SELECT count(DISTINCT snapshot_id) FROM leaderboard_entries"
        )
        metas = await conn.fetchval("SELECT count(*) FROM leaderboard_snapshots")
    assert snapshots_with_entries == len(PERIODS)  # only the latest per period keeps entries
    assert metas == 3 * len(PERIODS)  # metadata is kept for the retention window
