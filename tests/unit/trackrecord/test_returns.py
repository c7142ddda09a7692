"""The follow-through arithmetic: returns if copied, the +1 h / +24 h marks, summaries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.trackrecord.models import AlertOutcome
from bot.trackrecord.returns import DAY, HOUR, copy_return, mark, moved_its_way, summarize

T0 = 1_800_000_000.0
LATE = 1800.0


def alert(
    side: str = "BUY", price: float = 0.4, key: str = "t1", **marks: float | None
) -> AlertOutcome:
    return AlertOutcome(
        trade_key=key,
        wallet="0x" + "a" * 40,
        asset="tok",
        condition_id="0x" + "c" * 64,
        side=side,
        alert_price=price,
        alerted_at=T0,
        title="Will it rain?",
        outcome="Yes",
        **marks,  # type: ignore[arg-type]
    )


def test_a_buy_that_resolved_for_its_outcome_returns_one_minus_p_over_p() -> None:
    assert copy_return("BUY", 0.4, 1.0) == pytest.approx(0.6 / 0.4)  # +150%
    assert copy_return("BUY", 0.4, 0.0) == pytest.approx(-1.0)
    assert copy_return("BUY", 0.4, 0.5) == pytest.approx(0.10 / 0.4)  # +10 cents: +25%


def test_a_sell_is_copied_as_buying_the_other_outcome() -> None:
    # sold at 0.7: the other outcome costs 0.3; it pays 1 when this one resolves to 0
    assert copy_return("SELL", 0.7, 0.0) == pytest.approx(0.7 / 0.3)
    assert copy_return("SELL", 0.7, 1.0) == pytest.approx(-1.0)
    assert copy_return("SELL", 0.7, 0.6) == pytest.approx(0.1 / 0.3)
    assert moved_its_way("SELL", 0.7, 0.6) and not moved_its_way("BUY", 0.7, 0.6)
    assert not moved_its_way("BUY", 0.7, 0.7)  # unchanged is not "its way"


def test_marks_are_taken_when_due_and_never_late() -> None:
    open_alert = alert()
    early = mark(open_alert, 0.45, resolved=False, now=T0 + 600, late=LATE)
    assert (early.last_price, early.price_1h, early.price_24h, early.payout) == (
        0.45, None, None, None,
    )  # fmt: skip
    at_1h = mark(open_alert, 0.5, resolved=False, now=T0 + HOUR + 250, late=LATE)
    assert at_1h.price_1h == 0.5 and at_1h.price_24h is None
    # a bot that was down through the +1 h mark does not record a later price under its name
    missed = mark(open_alert, 0.5, resolved=False, now=T0 + HOUR + LATE + 1, late=LATE)
    assert missed.price_1h is None and missed.last_price == 0.5
    at_24h = mark(alert(price_1h=0.5), 0.6, resolved=False, now=T0 + DAY + 100, late=LATE)
    assert at_24h.price_1h is None and at_24h.price_24h == 0.6  # the 1 h mark is kept as is


def test_resolution_settles_and_fills_the_marks_not_yet_due() -> None:
    settled = mark(alert(), 1.0, resolved=True, now=T0 + 1200, late=LATE)
    assert (settled.payout, settled.price_1h, settled.price_24h) == (1.0, 1.0, 1.0)
    # resolved after a missed +1 h mark: the missing mark stays missing, +24 h is the payout
    later = mark(alert(), 0.0, resolved=True, now=T0 + 5 * HOUR, late=LATE)
    assert (later.payout, later.price_1h, later.price_24h) == (0.0, None, 0.0)


def test_summary_counts_shares_average_best_worst_and_open() -> None:
    outcomes = [
        alert(key="won", price=0.4, price_1h=0.45, price_24h=0.6, last_price=1.0, payout=1.0),
        alert(key="lost", price=0.8, price_1h=0.7, price_24h=0.5, last_price=0.0, payout=0.0),
        alert(key="open", price=0.5, price_1h=0.55, last_price=0.6),
        alert(key="sell", side="SELL", price=0.7, last_price=0.6),
        alert(key="new"),  # not marked yet: no return
    ]
    summary = summarize(outcomes)
    assert summary.alerts == 5 and summary.open == 3 and summary.returns == 4
    assert (summary.moved_1h, summary.marked_1h) == (2, 3)
    assert (summary.moved_24h, summary.marked_24h) == (1, 2)
    returns = [1.5, -1.0, 0.2, 0.1 / 0.3]
    assert summary.average_return == pytest.approx(sum(returns) / 4)
    assert summary.best is not None and summary.best.return_ == pytest.approx(1.5)
    assert summary.worst is not None and summary.worst.return_ == pytest.approx(-1.0)
    assert summary.worst.alert_price == 0.8


def test_an_empty_summary() -> None:
    summary = summarize([])
    assert (summary.alerts, summary.returns, summary.open) == (0, 0, 0)
    assert summary.average_return is None and summary.best is None and summary.worst is None


@given(
    side=st.sampled_from(["BUY", "SELL"]),
    price=st.floats(0.001, 0.999),
    value=st.floats(0.0, 1.0),
)
def test_returns_are_bounded_below_by_losing_the_stake(
    side: str, price: float, value: float
) -> None:
    ret = copy_return(side, price, value)
    assert ret >= -1.0 - 1e-12
    assert (ret > 0) == moved_its_way(side, price, value)
