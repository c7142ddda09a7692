"""The /admin status verdict and the figures behind it: pure functions over a StatusReport."""

from __future__ import annotations

from typing import Any

import pytest

from bot.admin import (
    FAILING_AFTER,
    MISS_WINDOW,
    STREAM_MISSES,
    Health,
    StatusReport,
    by_route,
    route_of,
    verdict,
    with_periods,
)
from bot.leaderboard.service import PeriodState
from bot.polymarket.stream import StreamStats
from bot.trades.dispatcher import DeliveryStats
from bot.trades.ingest import IngestStats
from bot.trades.reconciler import ReconcileStats
from bot.workers import LoopStatus, Role, WorkerStatus

NOW = 1_800_000_000.0


def loop(name: str = "leaderboard", **overrides: Any) -> WorkerStatus:
    status = LoopStatus(name=name, interval=60.0, runs=3, last_started_at=NOW - 30)
    status.last_outcome = "ok"
    for key, value in overrides.items():
        setattr(status, key, value)
    return WorkerStatus(name, Role.LEADER, True, loop=status)


def healthy(**overrides: Any) -> StatusReport:
    stream = StreamStats(connected=True, connected_since=NOW - 600, last_message_at=NOW - 1)
    values: dict[str, Any] = {
        "now": NOW,
        "workers": [loop(), loop("orders"), WorkerStatus("alerts", Role.LEADER, True)],
        "cache": [],
        "calls": {"data:/v1/leaderboard": 8},
        "failures": {},
        "calls_since": NOW - 3600,
        "periods": {p: PeriodState(last_success_at=NOW - 30) for p in ("day", "week")},
        "stream": stream,
        "ingest": IngestStats(),
        "delivery": DeliveryStats(),
        "ingest_queue": 0,
        "sending_channels": 0,
        "alert_counts": {"SENT": 10},
    }
    values.update(overrides)
    return StatusReport(**values)


def test_all_well_is_healthy_with_no_reason() -> None:
    found = verdict(healthy())
    assert (found.health, found.reasons) == (Health.HEALTHY, ())


def test_one_failed_run_degrades_and_a_few_in_a_row_fail() -> None:
    once = healthy(workers=[loop("orders", consecutive_failures=1, last_error="Timeout")])
    assert verdict(once).health is Health.DEGRADED
    assert verdict(once).reasons == ("orders failed 1× in a row",)
    often = healthy(workers=[loop("orders", consecutive_failures=FAILING_AFTER)])
    assert verdict(often).health is Health.FAILING


def test_a_stopped_worker_or_an_absent_database_is_failing() -> None:
    stopped = healthy(workers=[WorkerStatus("alerts", Role.LEADER, False)])
    assert verdict(stopped).health is Health.FAILING
    assert "alerts is not running" in verdict(stopped).reasons
    assert verdict(healthy(database_ok=False)).reasons == ("PostgreSQL did not answer",)


def test_stream_problems_and_backlogs_degrade() -> None:
    down = healthy(stream=StreamStats(connected=False))
    assert verdict(down).reasons == ("live trade stream disconnected",)
    silent = healthy(stream=StreamStats(connected=True, last_message_at=NOW - 600))
    assert verdict(silent).reasons == ("live trade stream silent",)
    backlog = healthy(alert_counts={"PENDING": 150})
    assert verdict(backlog).health is Health.DEGRADED


def test_a_stream_that_keeps_missing_trades_degrades_but_old_or_few_misses_do_not() -> None:
    def report(*ages: float) -> StatusReport:
        stats = ReconcileStats(missed_while_connected=len(ages))
        stats.miss_times.extend(NOW - age for age in ages)
        return healthy(reconcile=stats)

    often = report(*[60.0] * STREAM_MISSES)
    assert verdict(often).health is Health.DEGRADED
    assert verdict(often).reasons == (
        f"live trade stream missed {STREAM_MISSES} trades in the last hour",
    )
    few = report(*[60.0] * (STREAM_MISSES - 1))
    assert verdict(few).health is Health.HEALTHY
    long_ago = report(*[MISS_WINDOW + 60.0] * 50)  # a bad hour yesterday is not today's health
    assert verdict(long_ago).health is Health.HEALTHY


def test_no_board_at_all_is_failing() -> None:
    periods = {"day": PeriodState(None, "HTTP 500", 1), "week": PeriodState(NOW, None, 0)}
    assert verdict(healthy(periods=periods)).reasons == ("no leaderboard yet for day",)


def test_reasons_come_worst_first() -> None:
    report = healthy(
        stream=StreamStats(connected=False),
        workers=[loop("orders", consecutive_failures=5)],
    )
    found = verdict(report)
    assert found.health is Health.FAILING
    assert found.reasons[0].startswith("orders failed 5×")


def test_the_leaderboard_loop_agrees_with_its_periods() -> None:
    status = loop().loop
    assert status is not None
    periods = {
        "day": PeriodState(NOW, None, 0),
        "week": PeriodState(NOW - 120, "HTTP 500", 2),
    }
    merged = with_periods(status, periods)
    assert merged.consecutive_failures == 2 and merged.last_outcome == "partial: week failed"
    assert merged.last_error == "HTTP 500"
    assert status.consecutive_failures == 0  # the loop's own status is not changed
    assert with_periods(status, {"day": PeriodState(NOW)}) is status


@pytest.mark.parametrize(
    ("endpoint", "route"),
    [
        ("gamma:/markets/slug/will-it-rain", "gamma:/markets/slug/{slug}"),
        ("gamma:/events/slug/fed-cut", "gamma:/events/slug/{slug}"),
        ("gamma:/markets/559652", "gamma:/markets/{id}"),
        ("clob:/markets/0xabc123", "clob:/markets/{id}"),
        ("data:/positions", "data:/positions"),
        ("data:/v1/leaderboard", "data:/v1/leaderboard"),
        ("gamma:/public-search", "gamma:/public-search"),
    ],
)
def test_calls_are_counted_per_route_never_per_market(endpoint: str, route: str) -> None:
    assert route_of(endpoint) == route


def test_routes_add_up() -> None:
    counts = {f"gamma:/markets/slug/m{i}": 2 for i in range(500)} | {"data:/positions": 7}
    assert by_route(counts) == {"gamma:/markets/slug/{slug}": 1000, "data:/positions": 7}
