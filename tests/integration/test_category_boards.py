"""Category leaderboards against the fake's category boards, persisted, on their own budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.leaderboard.categories import CategoryBoards, CategoryRefreshError
from bot.leaderboard.models import PERIODS
from bot.polymarket.records import CATEGORIES, LeaderboardRow
from tests.fakes.polymarket import FakePolymarket
from tests.integration.leaderboard_helpers import Factory, leaderboard_factory

WITH_MARKETS = ("politics", "sports", "crypto", "weather")  # the fake's market families


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=40, seed=13)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def make_service(fake: FakePolymarket, pool: asyncpg.Pool) -> AsyncIterator[Factory]:
    async with aiohttp.ClientSession() as session:
        yield leaderboard_factory(session, fake, pool, max_retries=0)


def fake_order(fake: FakePolymarket, category: str, period: str, order: str) -> list[str]:
    ranked = fake._data_api.category_board(category.upper(), period.upper(), order)
    return [trader.wallet for trader, _ in ranked]


async def test_category_boards_rank_like_the_fakes_category_boards(
    make_service: Factory, fake: FakePolymarket
) -> None:
    service = make_service()
    await service.refresh()
    categories = CategoryBoards(service, service._api, candidates=100)
    report = await categories.refresh()
    assert report.boards == len(CATEGORIES) * len(PERIODS) and not report.failed
    for category in WITH_MARKETS:
        for period in PERIODS:
            board = service.board(period, category)
            assert board is not None and board.category == category
            by_pnl = [e.wallet for e in board.by_metric["pnl"]]
            assert by_pnl == fake_order(fake, category, period, "PNL"), (category, period)
            assert [e.wallet for e in board.by_metric["volume"]] == fake_order(
                fake, category, period, "VOL"
            )
            # each trader's category numbers, not its overall ones
            ranked = fake._data_api.category_board(category.upper(), period.upper(), "PNL")
            totals = {trader.wallet: pnl for trader, (pnl, _) in ranked}
            for entry in board.by_metric["pnl"]:
                assert entry.pnl == pytest.approx(totals[entry.wallet][period.upper()])
    # categories differ from each other and from the overall board
    week = {c: [e.wallet for e in service.board("week", c).by_metric["pnl"]] for c in WITH_MARKETS}
    assert len({tuple(order) for order in week.values()}) == len(WITH_MARKETS)
    # no market of the fake is in "culture": its boards are there, and empty
    assert service.board("week", "culture").trader_count == 0
    # the overall board is untouched
    assert [e.wallet for e in service.board("week").by_metric["pnl"]] == fake_order(
        fake, "overall", "week", "PNL"
    )[:60]


async def test_category_boards_survive_a_restart_and_say_their_age(
    make_service: Factory,
) -> None:
    clock = [1_800_000_000.0]
    service = make_service(category_interval=600, clock=lambda: clock[0])
    await service.refresh()
    await CategoryBoards(service, service._api).refresh()
    restarted = make_service(category_interval=600, clock=lambda: clock[0])
    await restarted.warm()
    for category in CATEGORIES:
        for period in PERIODS:
            before, after = service.board(period, category), restarted.board(period, category)
            assert after is not None and dict(after.by_metric) == dict(before.by_metric)
            assert after.updated_at == pytest.approx(before.updated_at)
    # the category traders keep their details across a restart and the first overall refresh
    assert restarted.category_wallets == service.category_wallets
    await restarted.refresh()
    had_details = service.category_wallets & service.stats.stats.keys()
    assert had_details and had_details <= restarted.stats.stats.keys()
    assert not restarted.freshness("week", "sports").stale
    clock[0] += 1_199  # two category intervals, not two overall ones (60 s)
    assert not restarted.freshness("week", "sports").stale
    assert restarted.freshness("week").stale
    clock[0] += 2
    stale = restarted.freshness("week", "sports")
    assert stale.stale and stale.since == pytest.approx(before.updated_at)


async def test_details_of_category_traders_stay_within_the_budget(
    make_service: Factory, fake: FakePolymarket
) -> None:
    service = make_service(candidates=5)  # few overall traders: most category ones are new
    await service.refresh()
    fake.reset_calls()
    categories = CategoryBoards(service, service._api, detail_budget=7)
    first = await categories.refresh()
    assert first.details_fetched == 7 and fake.calls["/positions"] == 7
    pending = service.board("all", "sports").pending
    assert pending > 0  # the rest are counted as still loading ...
    await categories.refresh()
    assert service.board("all", "sports").pending < pending  # ... and loaded pass by pass
    # the overall refresh keeps the category traders' details
    await service.refresh()
    assert service.stats.stats.keys() >= service.category_wallets & service.stats.fetched_at.keys()
    assert len(service.stats.stats) >= 14


async def test_a_failing_category_keeps_its_boards(
    make_service: Factory, fake: FakePolymarket, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()
    await service.refresh()
    categories = CategoryBoards(service, service._api)
    await categories.refresh()
    before = service.board("week", "crypto")
    original = service._api.leaderboard

    async def broken(period: str, order: str, total: int, **options: Any) -> list[LeaderboardRow]:
        if options.get("category") == "crypto":
            raise RuntimeError("crypto is down")
        return await original(period, order, total, **options)

    monkeypatch.setattr(service._api, "leaderboard", broken)
    report = await categories.refresh()
    assert set(report.failed) == {"crypto"}
    assert service.board("week", "crypto") is before
    assert service.freshness("week", "crypto").stale
    assert not service.freshness("week", "politics").stale
    fake.fail_all("500")
    with pytest.raises(CategoryRefreshError):
        await categories.refresh()
    assert service.board("week", "politics") is not None
