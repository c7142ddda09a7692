from __future__ import annotations

from typing import Any

from bot.cache import HotCache
from bot.events import EventBus
from bot.leaderboard.boards import build_board
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.scoring import Priors
from bot.leaderboard.service import LeaderboardService
from tests.factories import Clock


def service_with_board(clock: Clock) -> LeaderboardService:
    none: Any = None  # pool, api and stats are not touched by the read path
    service = LeaderboardService(
        none, none, none, HotCache(), EventBus(), refresh_interval=60, clock=clock
    )
    board = build_board("week", [], {}, now=clock.now, priors=Priors(), evidence=Evidence())
    service.publisher.swap([board])
    return service


def test_fresh_until_twice_the_interval_then_stale_since_the_last_update() -> None:
    clock = Clock(10_000.0)
    service = service_with_board(clock)
    assert not service.freshness("week").stale
    clock.now += 119
    assert not service.freshness("week").stale
    clock.now += 2
    freshness = service.freshness("week")
    assert freshness.stale and freshness.since == 10_000.0


def test_a_failed_last_refresh_is_stale_at_once() -> None:
    clock = Clock(10_000.0)
    service = service_with_board(clock)
    service.states["week"].consecutive_failures = 1
    service.states["week"].last_error = "HTTP 500"
    freshness = service.freshness("week")
    assert freshness.stale and freshness.reason == "HTTP 500"


def test_no_board_means_no_page() -> None:
    service = service_with_board(Clock(0.0))
    assert service.page("day", "pnl", 1) is None and service.board("day") is None
