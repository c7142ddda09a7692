"""The copy-score board on the fake world: evidence thresholds, archetypes, first start.

The real LeaderboardService against the local fake Polymarket and a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.leaderboard import service as service_module
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import PERIODS
from bot.leaderboard.scoring import EVIDENCE_WINDOW
from bot.polymarket.records import Position
from tests.e2e.harness import wait_until
from tests.fakes.polymarket import FakePolymarket, FakeTrader
from tests.integration.leaderboard_helpers import Factory, leaderboard_factory


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=40, seed=7)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def make_service(fake: FakePolymarket, pool: asyncpg.Pool) -> AsyncIterator[Factory]:
    async with aiohttp.ClientSession() as session:
        yield leaderboard_factory(session, fake, pool)


def evidence_in_the_fake(fake: FakePolymarket, trader: FakeTrader) -> tuple[int, float]:
    """(closed positions, dollars traded) of the last 90 days, from the fake's own rows as the
    bot sees them (its latest 50 closed positions, 100 trades, and its board rows' volume)."""
    since = fake.now - EVIDENCE_WINDOW
    latest = sorted(trader.closed_positions, key=lambda r: -r["timestamp"])[:50]
    closed = sum(1 for r in latest if r["timestamp"] >= since)
    traded = sum(r["usdcSize"] for r in trader.activity[:100] if r["timestamp"] >= since)
    return closed, max(traded, trader.vol["DAY"], trader.vol["WEEK"], trader.vol["MONTH"])


@pytest.mark.parametrize("evidence", [Evidence(), Evidence(min_closed=30, min_volume=5_000.0)])
async def test_the_score_board_holds_exactly_the_traders_with_enough_evidence(
    make_service: Factory, fake: FakePolymarket, evidence: Evidence
) -> None:
    service = make_service(evidence=evidence)
    await service.refresh()
    for period in PERIODS:
        board = service.board(period)
        assert board is not None and board.pending == 0
        expected = set()
        for entry in board.by_metric["pnl"]:
            closed, traded = evidence_in_the_fake(fake, fake.traders[entry.wallet])
            if closed >= evidence.min_closed and traded >= evidence.min_volume:
                expected.add(entry.wallet)
        assert {e.wallet for e in board.by_metric["score"]} == expected
        assert board.thin == board.trader_count - len(expected)
    # the thresholds bite on this world: the strict one leaves traders out
    if evidence.min_closed == 30:
        assert (
            0 < len(service.board("week").by_metric["score"]) < service.board("week").trader_count
        )


async def test_the_consistent_trader_ranks_above_the_market_maker_and_the_lucky_bet(
    make_service: Factory, fake: FakePolymarket
) -> None:
    service = make_service()
    await service.refresh()
    kinds = {t.wallet: t.kind for t in fake.traders.values()}
    for period in ("week", "month", "all"):
        ranking = [e.wallet for e in service.board(period).by_metric["score"]]
        rank = {wallet: n for n, wallet in enumerate(ranking)}
        consistent = [rank[w] for w in ranking if kinds[w] == "consistent"]
        adversaries = [rank[w] for w in ranking if kinds[w] in ("maker", "lucky")]
        assert consistent and adversaries, period  # both kinds are scored, not just absent
        assert max(consistent) < min(adversaries), period
        # ... while by PnL a lucky bet or a maker is ahead of the consistent traders somewhere
    by_pnl = [e.wallet for e in service.board("all").by_metric["pnl"]]
    best_adversary = min(n for n, w in enumerate(by_pnl) if kinds[w] in ("maker", "lucky"))
    assert best_adversary < min(n for n, w in enumerate(by_pnl) if kinds[w] == "consistent")


async def test_first_boards_come_before_details_and_fill_in_as_they_load(
    make_service: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "PROGRESS_PUBLISH_SECONDS", 0.05)
    service = make_service()
    api = service.stats._api
    original = api.positions
    gate = asyncio.Event()
    answered: list[str] = []

    async def slow_positions(wallet: str, **options: Any) -> list[Position]:
        if len(answered) >= 10:  # the first ten traders answer at once, the rest wait
            await gate.wait()
        answered.append(wallet)
        return await original(wallet, **options)

    monkeypatch.setattr(api, "positions", slow_positions)
    refresh = asyncio.create_task(service.refresh())
    await wait_until(lambda: service.board("week") is not None)
    first = service.board("week")
    # every trader is ranked by PnL and volume at once; nobody by score yet
    assert first.trader_count > 0 and first.by_metric["score"] == ()
    assert first.pending == first.trader_count
    # boards are published again while details load: the first ten join the score ranking
    await wait_until(lambda: service.board("week").pending <= first.trader_count - 10)
    loading = service.board("week")
    assert 0 < len(loading.by_metric["score"]) + loading.thin <= 10
    assert not refresh.done()
    gate.set()
    await refresh
    final = service.board("week")
    assert final.pending == 0 and len(final.by_metric["score"]) + final.thin == final.trader_count


async def test_a_restart_serves_the_same_score_board(make_service: Factory) -> None:
    first = make_service()
    await first.refresh()
    restarted = make_service()
    await restarted.warm()
    for period in PERIODS:
        before, after = first.board(period), restarted.board(period)
        assert dict(after.by_metric) == dict(before.by_metric)
        assert (after.pending, after.thin) == (before.pending, before.thin)
        assert all(e.scored for e in after.by_metric["score"])
        assert {e.wallet for e in after.by_metric["pnl"] if not e.scored} == {
            e.wallet for e in before.by_metric["pnl"] if not e.scored
        }
