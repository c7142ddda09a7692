"""The copy score: hand-computed cases, summarize on small records, ordering and bounds."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.leaderboard.scoring import (
    COMPONENTS,
    DAY,
    Priors,
    TraderStats,
    copy_score,
    population_priors,
    score_inputs,
    score_row,
    summarize,
)
from bot.polymarket.records import Activity, ClosedPosition, Position
from tests.unit.leaderboard.factories import NOW, WALLET, stats


def closed_position(asset: str, pnl: float, days_ago: float | None) -> ClosedPosition:
    return ClosedPosition(
        wallet=WALLET,
        asset=asset,
        condition_id="0xc",
        avg_price=0.5,
        total_bought=100.0,
        realized_pnl=pnl,
        timestamp=0.0 if days_ago is None else NOW - days_ago * DAY,
        title="",
        slug="",
        outcome="Yes",
    )


def open_position(asset: str, cash_pnl: float, realized_pnl: float = 0.0) -> Position:
    return Position(
        wallet=WALLET,
        asset=asset,
        condition_id="0xc",
        size=10.0,
        avg_price=0.5,
        initial_value=5.0,
        current_value=5.0 + cash_pnl,
        cash_pnl=cash_pnl,
        realized_pnl=realized_pnl,
        cur_price=0.5,
        title="",
        slug="",
        outcome="Yes",
    )


def activity(kind: str, days_ago: float, usd: float = 1.0) -> Activity:
    return Activity(
        wallet=WALLET,
        timestamp=NOW - days_ago * DAY,
        type=kind,
        condition_id="0xc",
        asset="a1",
        side="BUY",
        size=2 * usd,
        usdc_size=usd,
        price=0.5,
        transaction_hash="0x1",
        title="",
        slug="",
        outcome="Yes",
    )


def score(pnl: float, volume: float, s: TraderStats, prior: float = 0.5) -> float:
    return copy_score(pnl, volume, s, NOW, Priors(win_rate=prior)).score


# --- hand-computed cases ---------------------------------------------------------------------


def test_full_case_by_hand() -> None:
    result = copy_score(4_000.0, 19_000.0, stats(), NOW, Priors())
    c = result.components
    # margin: m = (4000 + 2500 * 0) / (17500 + 2500) = 0.2 -> 0.2 / (0.2 + 0.05) = 0.8
    assert c["margin"] == pytest.approx(0.8)
    # win rate: (7 + 10 * 0.5) / (10 + 10) = 12 / 20 = 0.6
    assert c["win_rate"] == pytest.approx(0.6)
    # consistency: (3 + 2 * 0.5) / (4 + 2) = 4 / 6
    assert c["consistency"] == pytest.approx(2 / 3)
    # recency: last trade 7 days ago = one half-life -> 0.5
    assert c["recency"] == pytest.approx(0.5)
    # volume < $1M and share 0.5 <= 0.6: no penalties
    assert c["mm_penalty"] == 0.0 and c["luck_penalty"] == 0.0
    # 100 * (0.40*0.8 + 0.15*0.6 + 0.25*2/3 + 0.20*0.5) = 100 * (0.32 + 0.09 + 0.16667 + 0.1)
    # = 67.667 -> 67.67
    assert result.score == 67.67


def test_margin_comes_from_realised_results_not_the_period_row() -> None:
    # the same trader scores the same on a period it lost in and one it won big in
    assert score(-5_000.0, 19_000.0, stats()) == score(90_000.0, 100_000.0, stats())
    # a realised loss gives no margin credit, whatever the row says
    losing = copy_score(90_000.0, 100_000.0, stats(realized=-500.0), NOW)
    assert losing.components["margin"] == 0.0


def test_every_estimated_part_shrinks_toward_the_population() -> None:
    priors = Priors(win_rate=0.7, margin=0.1, consistency=0.8)
    c = copy_score(0.0, 0.0, stats(), NOW, priors).components
    # margin: (4000 + 2500 * 0.1) / 20000 = 0.2125 -> 0.2125 / 0.2625
    assert c["margin"] == pytest.approx(0.2125 / 0.2625)
    # win rate: (7 + 10 * 0.7) / 20 = 0.7; consistency: (3 + 2 * 0.8) / 6
    assert c["win_rate"] == pytest.approx(0.7)
    assert c["consistency"] == pytest.approx(4.6 / 6)
    # no evidence at all: each part is the population's (recency is measured, not estimated)
    empty = stats(closed=0, wins=0, active=0, positive=0, realized=0.0, cost=0.0)
    c = copy_score(0.0, 0.0, empty, NOW, priors).components
    assert c["margin"] == pytest.approx(0.1 / 0.15)
    assert (c["win_rate"], c["consistency"]) == pytest.approx((0.7, 0.8))


def test_a_small_sample_moves_less_than_a_large_one() -> None:
    # 50% on $100 of cost is mostly the prior; 10% on $50,000 is mostly the trader
    tiny = copy_score(0.0, 0.0, stats(realized=50.0, cost=100.0), NOW).components["margin"]
    large = copy_score(0.0, 0.0, stats(realized=5_000.0, cost=50_000.0), NOW).components["margin"]
    assert tiny < large


def test_luck_penalty_by_hand() -> None:
    result = copy_score(4_000.0, 19_000.0, stats(share=0.8), NOW)
    # luck: 0.7 * (0.8 - 0.6) / (1 - 0.6) = 0.35; 67.667 * (1 - 0.35) = 43.983 -> 43.98
    assert result.components["luck_penalty"] == pytest.approx(0.35)
    assert result.score == 43.98


def test_recency_two_half_lives() -> None:
    result = copy_score(4_000.0, 19_000.0, stats(last_trade_days=14.0), NOW)
    # 0.5 ** (14 / 7) = 0.25; score = 100 * (0.32 + 0.09 + 0.16667 + 0.05) = 62.67
    assert result.components["recency"] == pytest.approx(0.25)
    assert result.score == 62.67


def test_market_maker_penalty_by_hand() -> None:
    # pnl 0 on $1.5M: |margin| 0 -> closeness 1; ramp (1.5M - 1M) / 1M = 0.5
    # mm = 0.8 * 0.5 * 1 = 0.4; quality 0.676667 (as above) -> 67.6667 * 0.6 = 40.6
    result = copy_score(0.0, 1_500_000.0, stats(), NOW)
    assert result.components["mm_penalty"] == pytest.approx(0.4)
    assert result.score == 40.6
    # pnl 3000 on $2M: |margin| 0.0015 -> closeness 0.7; ramp 1 -> 0.56
    result = copy_score(3_000.0, 2_000_000.0, stats(), NOW)
    assert result.components["mm_penalty"] == pytest.approx(0.56)
    # a real margin (1%) at the same volume is not market making
    assert copy_score(20_000.0, 2_000_000.0, stats(), NOW).components["mm_penalty"] == 0.0


def test_market_making_is_also_judged_on_the_realised_90_days() -> None:
    # a small row (the day board) of a trader who round-trips $2M at 0.1% over 90 days
    maker = stats(realized=2_000.0, cost=1_900_000.0, volume=2_000_000.0)
    result = copy_score(50.0, 20_000.0, maker, NOW)
    # |margin| 0.001 -> closeness 0.8; ramp 1 -> 0.64
    assert result.components["mm_penalty"] == pytest.approx(0.64)


def test_component_names_are_fixed() -> None:
    assert tuple(copy_score(1.0, 1.0, stats(), NOW).components) == COMPONENTS


# --- summarize -------------------------------------------------------------------------------


def test_summarize_small_records() -> None:
    closed = [
        closed_position("a1", 100.0, 1),  # week 0
        closed_position("a2", -30.0, 2),  # week 0: 100 - 30 = 70 > 0
        closed_position("a3", -50.0, 8),  # week 1: -50
        closed_position("a4", 300.0, 20),  # week 2: +300
        closed_position("a5", 10.0, 70),  # older than 8 weeks: a win, but no bucket
        closed_position("a6", 0.0, None),  # no timestamp, break-even: neither win nor bucket
    ]
    positions = [
        open_position("a1", 50.0),  # same bet as the closed a1: 100 + 50 = 150
        open_position("a7", 30.0, realized_pnl=10.0),  # 40
        open_position("a8", -20.0),
    ]
    acts = [
        activity("REDEEM", 1),
        activity("TRADE", 3, usd=250.0),
        activity("TRADE", 5, usd=100.0),
        activity("TRADE", 95, usd=1_000.0),  # older than 90 days: not in the 90-day volume
    ]
    s = summarize(WALLET, positions, closed, acts, NOW)
    assert (s.closed_count, s.wins) == (6, 3)  # wins: 100, 300, 10
    assert (s.weekly_active, s.weekly_positive) == (3, 2)  # weeks 0, 1, 2; 0 and 2 positive
    # gains per position: a1 150, a4 300, a5 10, a7 40 -> 300 / 500 = 0.6
    assert s.largest_win_share == pytest.approx(0.6)
    assert s.last_trade_at == NOW - 3 * DAY  # the newest TRADE, not the newer REDEEM
    assert s.trade_count == 3
    assert s.wallet == WALLET
    # the last 90 days: a1..a5 (a6 has no timestamp); each cost 100 shares x 0.5
    assert (s.closed_recent, s.realized_recent, s.cost_recent) == (5, 330.0, 250.0)
    assert s.volume_recent == 350.0


def test_summarize_falls_back_to_any_activity_for_last_trade() -> None:
    s = summarize(WALLET, [], [], [activity("REDEEM", 4)], NOW)
    assert s.last_trade_at == NOW - 4 * DAY
    assert s.trade_count == 0 and s.volume_recent == 0.0


def test_summarize_nothing() -> None:
    s = summarize(WALLET, [], [], [], NOW)
    assert s.to_dict() == {
        "wallet": WALLET,
        "closed_count": 0,
        "wins": 0,
        "weekly_active": 0,
        "weekly_positive": 0,
        "last_trade_at": None,
        "largest_win_share": 0.0,
        "trade_count": 0,
        "closed_recent": 0,
        "realized_recent": 0.0,
        "cost_recent": 0.0,
        "volume_recent": 0.0,
    }
    # no detail at all: consistency neutral, recency 0 (nothing seen), still a valid score
    result = copy_score(100.0, 1_000.0, s, NOW)
    assert result.components["consistency"] == 0.5 and result.components["recency"] == 0.0
    assert 0.0 <= result.score <= 100.0


def test_summarize_clamps_absurd_sums() -> None:
    huge = [closed_position(f"a{i}", 1e308, 1) for i in range(3)]
    s = summarize(WALLET, [], huge, [activity("TRADE", 1, usd=1e308)] * 3, NOW)
    assert s.realized_recent == 1e13 and s.volume_recent == 1e13
    assert 0.0 <= copy_score(0.0, 0.0, s, NOW).score <= 100.0


def test_summarize_single_win_is_all_luck() -> None:
    s = summarize(WALLET, [], [closed_position("a1", 1_000.0, 1)], [], NOW)
    assert s.largest_win_share == 1.0
    assert copy_score(1_000.0, 5_000.0, s, NOW).components["luck_penalty"] == pytest.approx(0.7)


def test_summarize_future_timestamp_counts_as_this_week() -> None:
    s = summarize(WALLET, [], [closed_position("a1", 5.0, -0.1)], [], NOW)
    assert (s.weekly_active, s.weekly_positive) == (1, 1)


# --- ordering --------------------------------------------------------------------------------


def test_higher_realised_margin_scores_higher() -> None:
    scores = [
        score(0.0, 0.0, stats(realized=pnl, cost=100_000.0))
        for pnl in (-1_000, 0, 1_000, 5_000, 20_000, 80_000)
    ]
    assert scores[0] == scores[1]  # no credit below zero
    assert scores[1:] == sorted(set(scores[1:]))  # strictly increasing from there


def test_market_maker_ranks_below_modest_skilled_trader() -> None:
    # even with a better-looking track record than the skilled trader
    mm = stats(closed=100, wins=90, active=8, positive=8, last_trade_days=0, realized=2_000.0)
    skilled = stats(closed=60, wins=30, active=8, positive=4, last_trade_days=3)
    assert score(10_000.0, 50_000_000.0, mm) < score(40_000.0, 200_000.0, skilled)


def test_one_lucky_bet_ranks_below_consistent_trader() -> None:
    lucky = stats(closed=5, wins=1, active=1, positive=1, share=0.98, realized=50_000.0)
    steady = stats(closed=40, wins=24, active=7, positive=6, share=0.15, realized=8_000.0)
    assert score(50_000.0, 150_000.0, lucky) < score(50_000.0, 150_000.0, steady)
    # the penalty alone, all else equal
    assert score(50_000.0, 150_000.0, stats(share=0.98)) < score(
        50_000.0, 150_000.0, stats(share=0.3)
    )


def test_small_perfect_record_ranks_below_large_good_one() -> None:
    # (3 + 5) / 13 = 0.615 < (60 + 5) / 90 = 0.722
    assert score(1_000.0, 10_000.0, stats(closed=3, wins=3)) < score(
        1_000.0, 10_000.0, stats(closed=80, wins=60)
    )


def test_stale_trader_ranks_below_active_one() -> None:
    assert score(1_000.0, 10_000.0, stats(last_trade_days=60)) < score(
        1_000.0, 10_000.0, stats(last_trade_days=1)
    )


# --- junk inputs and bounds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pnl", "volume", "now", "prior"),
    [
        (100.0, 0.0, NOW, 0.5),
        (-100.0, 0.0, NOW, 0.5),
        (math.nan, 1_000.0, NOW, 0.5),
        (1_000.0, math.nan, NOW, 0.5),
        (math.inf, -math.inf, NOW, 0.5),
        (1_000.0, -5.0, NOW, math.nan),
        (1_000.0, 5_000.0, math.nan, 7.0),
        (1e308, 1e-300, math.inf, -1.0),
    ],
)
def test_junk_inputs_stay_in_bounds(pnl: float, volume: float, now: float, prior: float) -> None:
    for s in (stats(), stats(closed=0, wins=0, active=0, positive=0, cost=0.0)):
        result = copy_score(pnl, volume, s, now, Priors(prior, prior, prior))
        assert 0.0 <= result.score <= 100.0
        assert all(0.0 <= v <= 1.0 for v in result.components.values())


@st.composite
def trader_stats(draw: st.DrawFn) -> TraderStats:
    closed = draw(st.integers(0, 10_000))
    active = draw(st.integers(0, 8))
    return TraderStats(
        wallet=WALLET,
        closed_count=closed,
        wins=draw(st.integers(0, closed)),
        weekly_active=active,
        weekly_positive=draw(st.integers(0, active)),
        last_trade_at=draw(st.none() | st.floats(allow_nan=False, allow_infinity=False)),
        largest_win_share=draw(st.floats(0.0, 1.0)),
        trade_count=draw(st.integers(0, 10_000)),
        closed_recent=draw(st.integers(0, closed)),
        realized_recent=draw(st.floats(-1e13, 1e13)),
        cost_recent=draw(st.floats(0.0, 1e13)),
        volume_recent=draw(st.floats(0.0, 1e13)),
    )


@st.composite
def priors(draw: st.DrawFn) -> Priors:
    return Priors(draw(st.floats()), draw(st.floats()), draw(st.floats()))


@given(pnl=st.floats(), volume=st.floats(), s=trader_stats(), now=st.floats(), prior=priors())
def test_score_always_within_bounds(
    pnl: float, volume: float, s: TraderStats, now: float, prior: Priors
) -> None:
    result = copy_score(pnl, volume, s, now, prior)
    assert math.isfinite(result.score) and 0.0 <= result.score <= 100.0
    assert round(result.score, 2) == result.score
    assert tuple(result.components) == COMPONENTS
    assert all(0.0 <= v <= 1.0 for v in result.components.values())


# --- persistence and the prior ---------------------------------------------------------------


@given(s=trader_stats())
def test_to_dict_round_trips_through_json(s: TraderStats) -> None:
    assert TraderStats.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_from_dict_rejects_unreadable_data() -> None:
    good = stats().to_dict()
    with pytest.raises(KeyError):
        TraderStats.from_dict({k: v for k, v in good.items() if k != "wins"})
    with pytest.raises(ValueError):
        TraderStats.from_dict({**good, "wins": good["closed_count"] + 1})
    with pytest.raises(ValueError):
        TraderStats.from_dict({**good, "largest_win_share": 1.5})
    with pytest.raises(ValueError):
        TraderStats.from_dict({**good, "last_trade_at": "nan"})
    with pytest.raises(ValueError):
        TraderStats.from_dict({**good, "cost_recent": -1.0})
    with pytest.raises(KeyError):  # stored before the 90-day figures existed: fetched again
        TraderStats.from_dict({k: v for k, v in good.items() if not k.endswith("_recent")})


def test_population_priors_are_pooled_and_the_margin_is_a_median() -> None:
    assert population_priors([]) == Priors(0.5, 0.0, 0.5)
    nothing = stats(closed=0, wins=0, active=0, positive=0, realized=0.0, cost=0.0)
    assert population_priors([nothing]) == Priors(0.5, 0.0, 0.5)
    pooled = population_priors(
        [
            stats(closed=1, wins=1, active=1, positive=1, realized=10.0, cost=100.0),
            stats(closed=49, wins=30, active=4, positive=1, realized=-45.0, cost=900.0),
            # a whale's long shot: pooled, it would set the margin prior near 250%
            stats(closed=10, wins=5, active=4, positive=2, realized=50_000.0, cost=20_000.0),
            nothing,  # no cost: no margin
        ]
    )
    # wins (1 + 30 + 5) / (1 + 49 + 10); weeks (1 + 1 + 2) / (1 + 4 + 4)
    # margins 0.1, -0.05, 2.5 -> median 0.1
    assert (pooled.win_rate, pooled.consistency, pooled.margin) == pytest.approx((0.6, 4 / 9, 0.1))
    # an absurd population cannot push the prior margin past +-20%
    assert population_priors([stats(realized=1e6, cost=1.0)]).margin == 0.2


@given(pnl=st.floats(), volume=st.floats(), s=trader_stats(), now=st.floats(), prior=priors())
def test_boards_split_of_the_score_is_copy_score(
    pnl: float, volume: float, s: TraderStats, now: float, prior: Priors
) -> None:
    score, components = score_row(pnl, volume, score_inputs(s, now, prior))
    result = copy_score(pnl, volume, s, now, prior)
    assert score == result.score
    assert components == tuple(result.components[name] for name in COMPONENTS)
