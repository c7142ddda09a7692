"""The evidence thresholds and the score explained as parts that add up to it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from bot.leaderboard.evidence import Evidence, EvidenceStatus, contributions, shown_score
from bot.leaderboard.scoring import COMPONENTS, Priors, copy_score
from tests.unit.leaderboard.factories import NOW, stats


def test_status_needs_both_closed_positions_and_volume() -> None:
    rule = Evidence(min_closed=5, min_volume=1_000.0)
    assert rule.status(None) is EvidenceStatus.PENDING
    assert rule.status(stats(recent=5, volume=1_000.0)) is EvidenceStatus.SCORED
    assert rule.status(stats(recent=4, volume=1e9)) is EvidenceStatus.THIN
    assert rule.status(stats(closed=50, volume=999.0)) is EvidenceStatus.THIN
    # a board row's volume (a lower bound of the 90-day volume) counts too; junk does not
    assert rule.status(stats(volume=10.0), volume_floor=1_000.0) is EvidenceStatus.SCORED
    assert rule.status(stats(volume=10.0), volume_floor=math.nan) is EvidenceStatus.THIN
    assert Evidence(0, 0.0).status(stats(recent=0, volume=0.0)) is EvidenceStatus.SCORED


def test_contributions_of_the_hand_computed_case() -> None:
    result = copy_score(4_000.0, 19_000.0, stats(share=0.8), NOW)
    parts = dict(contributions(result.components, result.score))
    # base: margin 32, win rate 9, consistency 16.67, recency 10 = 67.67; luck 0.35 takes 23.68
    assert parts == {
        "margin": 32.0,
        "win_rate": 9.0,
        "consistency": 16.7,
        "recency": 10.0,
        "mm_penalty": 0.0,
        "luck_penalty": -23.7,
    }
    assert round(sum(parts.values()), 1) == shown_score(result.score) == 44.0


@st.composite
def breakdowns(draw: st.DrawFn) -> tuple[dict[str, float], float]:
    trader = stats(
        wins=draw(st.integers(0, 10)),
        positive=draw(st.integers(0, 4)),
        share=draw(st.floats(0.0, 1.0)),
        realized=draw(st.floats(-1e6, 1e6)),
        cost=draw(st.floats(0.0, 1e7)),
        last_trade_days=draw(st.floats(0.0, 400.0)),
    )
    pnl, volume = draw(st.floats(-1e7, 1e7)), draw(st.floats(0.0, 1e8))
    prior = draw(st.floats(0.0, 1.0))
    result = copy_score(pnl, volume, trader, NOW, Priors(prior, 0.02, prior))
    return result.components, result.score


@given(breakdowns())
def test_rounded_parts_always_add_up_to_the_shown_score(
    breakdown: tuple[dict[str, float], float],
) -> None:
    components, score = breakdown
    parts = contributions(components, score)
    assert [name for name, _ in parts] == list(COMPONENTS)
    assert all(round(points, 1) == points for _, points in parts)
    assert math.isclose(sum(points for _, points in parts), shown_score(score), abs_tol=1e-9)
    # every part stays within a tenth of its exact value's rounding
    assert all(points >= -100.0 and points <= 100.0 for _, points in parts)
