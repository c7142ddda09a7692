"""The score's own record: weekly top 10s stored once a week, followed in the daily statistics,
shown under the score ordering, and back after a restart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bot.cache import HotCache
from bot.events import EventBus
from bot.leaderboard.boards import page_of
from bot.leaderboard.record import ScoreRecordKeeper
from bot.leaderboard.service import LeaderboardService
from tests.factories import Clock
from tests.unit.leaderboard.factories import board, row, scored_stats

DAY = 86_400.0
START = datetime(2027, 3, 1, 12, tzinfo=UTC).timestamp()


def month_board(clock: Clock, n: int = 30, pending: int = 0) -> Any:
    """A month board of ``n`` traders: PnL, volume and score orders all differ."""
    rows = [row(i, pnl=1_000.0 * ((i * 7) % n), vol=10_000.0 * ((i * 11) % n)) for i in range(n)]
    built = board("month", rows, scored_stats(rows, clock.now), now=clock.now)
    return replace(built, pending=pending)


def service_with(month: Any, pool: asyncpg.Pool, clock: Clock) -> LeaderboardService:
    none: Any = None  # the record reads the board; it fetches nothing
    service = LeaderboardService(pool, none, none, HotCache(), EventBus(), clock=clock)
    service.publisher.swap([month])
    return service


async def add_daily(pool: asyncpg.Pool, wallet: str, day: date, pnl: float, volume: float) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO trader_daily_stats (wallet, day, realized_pnl, volume, trades)"
            " VALUES ($1, $2, $3, $4, 1)",
            wallet,
            day,
            pnl,
            volume,
        )


async def test_weekly_picks_and_how_they_did_since(pool: asyncpg.Pool) -> None:
    clock = Clock(START)
    month = month_board(clock)
    service = service_with(month, pool, clock)
    refreshed: list[Sequence[str]] = []

    async def refresh_details(wallets: Sequence[str]) -> int:
        refreshed.append(list(wallets))
        return len(wallets)

    keeper = ScoreRecordKeeper(pool, service, refresh_details, clock=clock)
    await keeper.run()
    async with pool.acquire() as conn:
        picks = await conn.fetch("SELECT metric, rank, wallet FROM score_picks ORDER BY 1, 2")
    by_metric = {
        m: [r["wallet"] for r in picks if r["metric"] == m] for m in ("score", "pnl", "volume")
    }
    for metric, wallets in by_metric.items():
        assert wallets == [e.wallet for e in month.by_metric[metric][:10]]
    # the day after: results from the daily statistics, per dollar traded, pooled
    picked_on = datetime.fromtimestamp(START, tz=UTC).date()
    score_top, pnl_top = by_metric["score"][0], by_metric["pnl"][0]
    assert score_top not in by_metric["pnl"] + by_metric["volume"]
    assert pnl_top not in by_metric["score"] + by_metric["volume"]
    await add_daily(pool, score_top, picked_on + timedelta(days=1), 300.0, 1_000.0)
    await add_daily(pool, pnl_top, picked_on + timedelta(days=2), -50.0, 5_000.0)
    await add_daily(pool, pnl_top, picked_on, 9_999.0, 1.0)  # the pick's own day: before it
    clock.now += DAY * 2
    await keeper.run()
    record = service.record
    assert record is not None and record.first_pick == picked_on and record.picks == 1
    assert record.per_dollar["score"] == pytest.approx(0.3)
    assert record.per_dollar["pnl"] == pytest.approx(-0.01)
    assert record.per_dollar["volume"] is None  # its picks have no statistics since
    # the record rides on the score ordering's pages only
    assert page_of(month, "score", 1, record=record).record == record
    assert page_of(month, "pnl", 1, record=record).record is None
    # not again within the week; again after it
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(DISTINCT picked_on) FROM score_picks") == 1
    clock.now += DAY * 5
    await keeper.run()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(DISTINCT picked_on) FROM score_picks") == 2
    # picked traders off every board get their details fetched (those on a board do not)
    assert refreshed and set(refreshed[-1]) <= {r["wallet"] for r in picks}
    service.overall_wallets = {r["wallet"] for r in picks}
    refreshed.clear()
    await keeper.run()
    assert refreshed == []
    # after a restart the line is there before any pick or refresh
    restarted = service_with(month, pool, clock)
    await ScoreRecordKeeper(pool, restarted, refresh_details, clock=clock).load()
    assert restarted.record is not None and restarted.record.picks == 2


async def test_no_picks_from_a_board_still_loading(pool: asyncpg.Pool) -> None:
    clock = Clock(START)
    service = service_with(month_board(clock, pending=5), pool, clock)

    async def refresh_details(wallets: Sequence[str]) -> int:
        return 0

    await ScoreRecordKeeper(pool, service, refresh_details, clock=clock).run()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM score_picks") == 0
    assert service.record is None
