"""LeaderboardService against real PostgreSQL and the local fake Polymarket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.events import EventBus, StoredTrade, TradesStored
from bot.leaderboard.boards import build_board, page_of
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import PERIODS, PeriodBoard
from bot.leaderboard.scoring import COMPONENTS, Priors, TraderStats
from bot.leaderboard.service import LeaderboardRefreshError
from bot.polymarket.records import LeaderboardRow
from db import leaderboard_queries as queries
from tests.fakes.polymarket import FakePolymarket
from tests.integration.leaderboard_helpers import Factory, leaderboard_factory
from tests.unit.leaderboard.factories import stats


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
        yield leaderboard_factory(session, fake, pool, timeout=0.5, candidates=30)


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
        stored = await conn.fetch(
            "SELECT e.wallet, e.rank_pnl, e.rank_volume, e.rank_score FROM leaderboard_entries e"
            " JOIN leaderboard_snapshots s ON s.id = e.snapshot_id WHERE s.period = 'week'"
        )
        board = service.board("week")
        assert len(stored) == board.trader_count  # one row per trader holds all three ranks
        for metric in ("pnl", "volume", "score"):
            by_rank = sorted(stored, key=lambda r: r[f"rank_{metric}"])
            assert [r[f"rank_{metric}"] for r in by_rank] == list(range(1, len(stored) + 1))
            assert [r["wallet"] for r in by_rank] == [e.wallet for e in board.by_metric[metric]]
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


async def test_known_traders_follow_each_publish_and_a_reload(make_service: Factory) -> None:
    service = make_service()
    await service.refresh()
    known = service.known_traders()
    on_boards = {e.wallet: e.user_name for p in PERIODS for e in service.board(p).by_metric["pnl"]}
    assert dict(known) == on_boards and known  # every ranked trader, with their username
    assert service.known_traders() is known  # built with the boards, not per call

    await service.refresh()
    assert service.known_traders() is not known  # the new boards brought their own
    assert dict(service.known_traders()) == dict(known)

    restarted = make_service()  # another process: boards (and names) from PostgreSQL
    assert dict(restarted.known_traders()) == {}
    await restarted.reload()
    assert dict(restarted.known_traders()) == dict(known)


async def test_second_refresh_reuses_trader_details_within_ttl(
    make_service: Factory, fake: FakePolymarket
) -> None:
    service = make_service()
    await service.refresh()
    fake.reset_calls()
    report = await service.refresh()
    assert report.details_fetched == 0
    assert fake.calls["/positions"] == 0 and fake.calls["/v1/leaderboard"] > 0


async def test_a_stored_batch_expires_the_details_of_each_of_its_traders_once(
    make_service: Factory,
) -> None:
    bus = EventBus()
    service = make_service(bus)
    await service.refresh()
    first, second = (e.wallet for e in service.board("all").by_metric["pnl"][:2])
    batch = [(first.upper(), "k1"), (second, "k2"), (first, "k3")]  # any case, repeated
    bus.publish(TradesStored(tuple(StoredTrade(w, k) for w, k in batch)))
    await bus.drain()
    report = await service.refresh()
    assert report.details_fetched == 2


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

    async def broken(period: str, order: str, total: int, **options: Any):  # type: ignore[no-untyped-def]
        if period == "day":
            raise RuntimeError("day is down")
        return await original(period, order, total, **options)

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
    # metadata is kept for the retention window: the first refresh published twice (early
    # boards before trader details, then the full ones; the fake answers within the few
    # seconds after which boards are published again), the two others once each
    assert metas == 4 * len(PERIODS)


# ---- the stored snapshot layout (db/leaderboard_queries.py) ---------------------------------


def _rows(n: int) -> list[LeaderboardRow]:
    """Candidates with tied pnl, volume and score values, so every tie-breaker is exercised."""
    return [
        LeaderboardRow(
            rank=i,
            wallet=f"0x{(i * 7919) % 1000:040x}",
            user_name=f"user{i}",
            volume=float(1_000 * (i % 4)),
            pnl=float(100 * (i % 3)) - 50.0,
            profile_image="",
            x_username="" if i % 2 else f"x{i}",
            verified=i % 5 == 0,
        )
        for i in range(1, n + 1)
    ]


def _stats(rows: list[LeaderboardRow], now: float) -> dict[str, TraderStats]:
    """Every fourth trader has no details yet, every fifth too little evidence."""
    return {
        row.wallet: stats(
            wallet=row.wallet,
            wins=i % 10,
            positive=i % 5,
            last_trade_days=i / 24,
            share=0.9,
            recent=2 if i % 5 == 0 else None,
            now=now,
        )
        for i, row in enumerate(rows)
        if i % 4
    }


async def _write(pool: asyncpg.Pool, n: int, now: float) -> dict[str, PeriodBoard]:
    rows = _rows(n)
    trader_stats = _stats(rows, now)
    async with pool.acquire() as conn:
        ids = await queries.begin_snapshots(conn, PERIODS)
        boards = {
            period: build_board(
                period,
                rows[: n - k],  # periods of different sizes
                trader_stats,
                now=now,
                priors=Priors(win_rate=0.4),
                evidence=Evidence(),
                snapshot_id=ids[period],
            )
            for k, period in enumerate(PERIODS)
        }
        assert await queries.write_boards(conn, boards.values(), 12) == sum(n - k for k in range(4))
    return boards


async def test_boards_round_trip_through_one_row_per_trader(pool: asyncpg.Pool) -> None:
    boards = await _write(pool, 37, 1_800_000_000.0)
    async with pool.acquire() as conn:
        loaded = await queries.load_latest_boards(conn)
        week = boards["week"]
        page_two = await conn.fetch(
            "SELECT wallet FROM leaderboard_entries WHERE snapshot_id = $1"
            " AND rank_volume BETWEEN 11 AND 20 ORDER BY rank_volume",
            week.snapshot_id,
        )
        sizes = await conn.fetch(
            "SELECT octet_length(components) AS size, count(*) FROM leaderboard_entries GROUP BY 1"
        )
    assert set(loaded) == {("overall", period) for period in PERIODS}
    for period, board in boards.items():
        got = loaded["overall", period]
        assert (got.snapshot_id, got.component_names) == (board.snapshot_id, COMPONENTS)
        assert dict(got.by_metric) == dict(board.by_metric)  # same entries, same order
        assert (got.pending, got.thin) == (board.pending, board.thin) != (0, 0)
        assert got.updated_at == pytest.approx(board.updated_at)
        assert {id(e) for e in got.by_metric["score"]} < {id(e) for e in got.by_metric["pnl"]}
        assert all(type(c) is float for e in got.by_metric["score"] for c in e.components)
    assert [r["wallet"] for r in page_two] == [e.wallet for e in page_of(week, "volume", 2).entries]
    assert [(r["size"], r["count"]) for r in sizes] == [(8 * len(COMPONENTS), 37 + 36 + 35 + 34)]


async def test_rankings_of_distinct_but_equal_entries_are_written(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        ids = await queries.begin_snapshots(conn, ["day", "week"])
        rows = _rows(12)
        built = build_board(
            "day", rows, _stats(rows, 1e9), now=1e9, priors=Priors(), evidence=Evidence()
        )
        copied = PeriodBoard(
            period="day",
            snapshot_id=ids["day"],
            updated_at=built.updated_at,
            component_names=built.component_names,
            by_metric={
                m: tuple(replace(e) for e in ranking) for m, ranking in built.by_metric.items()
            },
        )
        assert await queries.write_boards(conn, [copied], 5) == 12
        loaded = await queries.load_latest_boards(conn)
        assert dict(loaded["overall", "day"].by_metric) == dict(built.by_metric)

        broken = PeriodBoard(
            period="week",
            snapshot_id=ids["week"],
            updated_at=built.updated_at,
            component_names=built.component_names,
            by_metric={**built.by_metric, "volume": built.by_metric["volume"][:-1]},
        )
        with pytest.raises(ValueError, match="volume ranking"):
            await queries.write_boards(conn, [broken], 5)
        stranger = replace(built.by_metric["pnl"][0], wallet="0x" + "f" * 40)
        stray = replace(
            broken,
            by_metric={**built.by_metric, "score": (*built.by_metric["score"], stranger)},
        )
        with pytest.raises(ValueError, match="score ranking holds a trader missing"):
            await queries.write_boards(conn, [stray], 5)
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM leaderboard_entries WHERE snapshot_id = $1", ids["week"]
            )
            == 0
        )


async def test_prune_removes_replaced_entries_without_a_foreign_key(pool: asyncpg.Pool) -> None:
    first = await _write(pool, 20, 1_800_000_000.0)
    latest = await _write(pool, 15, 1_800_000_060.0)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE leaderboard_snapshots SET started_at = now() - interval '30 days'"
        )
        entries, metas = await queries.prune(conn, 7.0)
        kept = await conn.fetch(
            "SELECT snapshot_id, count(*) FROM leaderboard_entries GROUP BY 1 ORDER BY 1"
        )
        orphans = await conn.fetchval(
            "SELECT count(*) FROM leaderboard_entries e WHERE NOT EXISTS"
            " (SELECT 1 FROM leaderboard_snapshots s WHERE s.id = e.snapshot_id)"
        )
        loaded = await queries.load_latest_boards(conn)
    assert entries == sum(b.trader_count for b in first.values())
    assert metas == len(first)  # the replaced meta rows were past the retention window
    assert [(r["snapshot_id"], r["count"]) for r in kept] == sorted(
        (b.snapshot_id, b.trader_count) for b in latest.values()
    )
    assert orphans == 0
    assert {p: dict(b.by_metric) for (_, p), b in loaded.items()} == {
        p: dict(b.by_metric) for p, b in latest.items()
    }
