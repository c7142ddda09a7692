"""Daily statistics from one page of closed positions and activity."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.polymarket.records import Activity, ClosedPosition
from bot.traders.profiles import daily_stats

WALLET = "0x" + "a" * 40


def ts(day: int, hour: int = 12) -> float:
    return datetime(2026, 11, day, hour, tzinfo=UTC).timestamp()


def closed(day: int, pnl: float) -> ClosedPosition:
    return ClosedPosition(WALLET, "1", "0x", 0.5, 10, pnl, ts(day), "", "", "")


def trade(day: int, usd: float) -> Activity:
    return Activity(
        WALLET, ts(day), "TRADE", "0x", "1", "BUY", usd * 2, usd, 0.5, "0x1", "", "", ""
    )


def test_days_are_summed() -> None:
    stats = daily_stats(
        [closed(3, 10), closed(3, -4), closed(5, 7)],
        [trade(3, 100), trade(3, 50), trade(4, 20)],
        closed_limit=50,
        activity_limit=100,
    )
    assert stats == {
        date(2026, 11, 3): (6.0, 150.0, 2),
        date(2026, 11, 4): (0.0, 20.0, 1),
        date(2026, 11, 5): (7.0, 0.0, 0),
    }


def test_a_day_cut_by_a_full_page_is_left_out() -> None:
    # A full page (limit reached) may not hold all of its oldest day: that day is skipped.
    stats = daily_stats(
        [closed(2, 1.0), closed(4, 2.0)], [trade(5, 10)], closed_limit=2, activity_limit=100
    )
    assert date(2026, 11, 2) not in stats
    assert stats[date(2026, 11, 4)] == (2.0, 0.0, 0)
