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
    TraderStats,
    copy_score,
    population_win_rate,
    score_row,
    summarize,
    track_record,
)
from bot.polymarket.records import Activity, ClosedPosition, Position

NOW = 1_700_000_000.0
WALLET = "0x" + "ab" * 20


def stats(
    *,
    closed: int = 10,
    wins: int = 7,
    active: int = 4,
    positive: int = 3,
    last_trade_days: float | None = 7.0,
    share: float = 0.5,
    trades: int = 20,
) -> TraderStats:
    return TraderStats(
        wallet=WALLET,
        closed_count=closed,
        wins=wins,
        weekly_active=active,
        weekly_positive=positive,
        last_trade_at=None if last_trade_days is None else NOW - last_trade_days * DAY,
        largest_win_share=share,
        trade_count=trades,
    )


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


def activity(kind: str, days_ago: float) -> Activity:
    return Activity(
        wallet=WALLET,
        timestamp=NOW - days_ago * DAY,
        type=kind,
        condition_id="0xc",
        asset="a1",
        side="BUY",
        size=1.0,
        usdc_size=1.0,
        price=0.5,
        transaction_hash="0x1",
        title="",
        slug="",
        outcome="Yes",
    )


def score(pnl: float, volume: float, s: TraderStats | None, prior: float = 0.5) -> float:
    return copy_score(pnl, volume, s, NOW, prior).score


# --- hand-computed cases ---------------------------------------------------------------------


def test_full_case_by_hand() -> None:
    result = copy_score(4_000.0, 19_000.0, stats(), NOW, 0.5)
    c = result.components
    # margin: m = 4000 / (19000 + 1000) = 0.2 -> 0.2 / (0.2 + 0.05) = 0.8
    assert c["margin"] == pytest.approx(0.8)
    # win rate: (7 + 10 * 0.5) / (10 + 10) = 12 / 20 = 0.6
    assert c["win_rate"] == pytest.approx(0.6)
    # consistency: (3 + 2 * 0.5) / (4 + 2) = 4 / 6
    assert c["consistency"] == pytest.approx(2 / 3)
    # recency: last trade 7 days ago = one half-life -> 0.5
    assert c["recency"] == pytest.approx(0.5)
    # volume < $1M and share 0.5 <= 0.6: no penalties
    assert c["mm_penalty"] == 0.0 and c["luck_penalty"] == 0.0 and c["partial"] == 0.0
    # 100 * (0.40*0.8 + 0.15*0.6 + 0.25*2/3 + 0.20*0.5) = 100 * (0.32 + 0.09 + 0.16667 + 0.1)
    # = 67.667 -> 67.67
    assert result.score == 67.67


def test_luck_penalty_by_hand() -> None:
    result = copy_score(4_000.0, 19_000.0, stats(share=0.8), NOW, 0.5)
    # luck: 0.7 * (0.8 - 0.6) / (1 - 0.6) = 0.35; 67.667 * (1 - 0.35) = 43.983 -> 43.98
    assert result.components["luck_penalty"] == pytest.approx(0.35)
    assert result.score == 43.98


def test_recency_two_half_lives() -> None:
    result = copy_score(4_000.0, 19_000.0, stats(last_trade_days=14.0), NOW, 0.5)
    # 0.5 ** (14 / 7) = 0.25; score = 100 * (0.32 + 0.09 + 0.16667 + 0.05) = 62.67
    assert result.components["recency"] == pytest.approx(0.25)
    assert result.score == 62.67


def test_partial_score_uses_pnl_and_volume_only() -> None:
    result = copy_score(4_000.0, 19_000.0, None, NOW, 0.6)
    # margin 0.8 (as above); win rate = prior 0.6; consistency and recency neutral 0.5
    # 100 * (0.40*0.8 + 0.15*0.6 + 0.25*0.5 + 0.20*0.5) = 100 * (0.32 + 0.09 + 0.125 + 0.1) = 63.5
    assert result.score == 63.5
    assert result.components["partial"] == 1.0
    assert result.components["win_rate"] == pytest.approx(0.6)


def test_negative_pnl_gets_no_margin_credit() -> None:
    result = copy_score(-5_000.0, 19_000.0, None, NOW, 0.5)
    # margin 0; 100 * (0.15*0.5 + 0.25*0.5 + 0.20*0.5) = 100 * 0.3 = 30
    assert result.components["margin"] == 0.0
    assert result.score == 30.0


def test_market_maker_penalty_by_hand() -> None:
    # pnl 0 on $1.5M: |margin| 0 -> closeness 1; ramp (1.5M - 1M) / 1M = 0.5
    # mm = 0.8 * 0.5 * 1 = 0.4; quality (partial) = 0.3 -> 30 * (1 - 0.4) = 18
    result = copy_score(0.0, 1_500_000.0, None, NOW, 0.5)
    assert result.components["mm_penalty"] == pytest.approx(0.4)
    assert result.score == 18.0
    # pnl 3000 on $2M: |margin| 0.0015 -> closeness 1 - 0.0015/0.005 = 0.7; ramp 1
    # mm = 0.8 * 0.7 = 0.56; margin m = 3000 / 2,001,000 = 0.00149925 -> m / (m + 0.05) = 0.029112
    # quality = 0.4 * 0.029112 + 0.3 = 0.311645; 31.1645 * 0.44 = 13.712 -> 13.71
    result = copy_score(3_000.0, 2_000_000.0, None, NOW, 0.5)
    assert result.components["mm_penalty"] == pytest.approx(0.56)
    assert result.score == 13.71
    # a real margin (1%) at the same volume is not market making
    assert copy_score(20_000.0, 2_000_000.0, None, NOW).components["mm_penalty"] == 0.0


def test_component_names_are_the_same_with_and_without_details() -> None:
    """Boards tabulate components by the names of the first row, which may be partial."""
    assert tuple(copy_score(1.0, 1.0, None, NOW).components) == COMPONENTS
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
    acts = [activity("REDEEM", 1), activity("TRADE", 3), activity("TRADE", 5)]
    s = summarize(WALLET, positions, closed, acts, NOW)
    assert (s.closed_count, s.wins) == (6, 3)  # wins: 100, 300, 10
    assert (s.weekly_active, s.weekly_positive) == (3, 2)  # weeks 0, 1, 2; 0 and 2 positive
    # gains per position: a1 150, a4 300, a5 10, a7 40 -> 300 / 500 = 0.6
    assert s.largest_win_share == pytest.approx(0.6)
    assert s.last_trade_at == NOW - 3 * DAY  # the newest TRADE, not the newer REDEEM
    assert s.trade_count == 2
    assert s.wallet == WALLET


def test_summarize_falls_back_to_any_activity_for_last_trade() -> None:
    s = summarize(WALLET, [], [], [activity("REDEEM", 4)], NOW)
    assert s.last_trade_at == NOW - 4 * DAY
    assert s.trade_count == 0


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
    }
    # no detail at all: consistency neutral, recency 0 (nothing seen), still a valid score
    result = copy_score(100.0, 1_000.0, s, NOW)
    assert result.components["consistency"] == 0.5 and result.components["recency"] == 0.0
    assert 0.0 <= result.score <= 100.0


def test_summarize_single_win_is_all_luck() -> None:
    s = summarize(WALLET, [], [closed_position("a1", 1_000.0, 1)], [], NOW)
    assert s.largest_win_share == 1.0
    assert copy_score(1_000.0, 5_000.0, s, NOW).components["luck_penalty"] == pytest.approx(0.7)


def test_summarize_future_timestamp_counts_as_this_week() -> None:
    s = summarize(WALLET, [], [closed_position("a1", 5.0, -0.1)], [], NOW)
    assert (s.weekly_active, s.weekly_positive) == (1, 1)


# --- ordering --------------------------------------------------------------------------------


def test_higher_margin_scores_higher() -> None:
    s = stats()
    scores = [score(pnl, 100_000.0, s) for pnl in (-1_000, 0, 1_000, 5_000, 20_000, 80_000)]
    assert scores[0] == scores[1]  # no credit below zero
    assert scores[1:] == sorted(set(scores[1:]))  # strictly increasing from there


def test_market_maker_ranks_below_modest_skilled_trader() -> None:
    # even with a better-looking track record than the skilled trader
    mm = stats(closed=100, wins=90, active=8, positive=8, last_trade_days=0)
    skilled = stats(closed=60, wins=30, active=8, positive=4, last_trade_days=3)
    assert score(10_000.0, 50_000_000.0, mm) < score(40_000.0, 200_000.0, skilled)
    assert score(10_000.0, 50_000_000.0, None) < score(40_000.0, 200_000.0, None)


def test_one_lucky_bet_ranks_below_consistent_trader() -> None:
    lucky = stats(closed=5, wins=1, active=1, positive=1, share=0.98)
    steady = stats(closed=40, wins=24, active=7, positive=6, share=0.15)
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
    for s in (None, stats()):
        result = copy_score(pnl, volume, s, now, prior)
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
    )


@given(
    pnl=st.floats(),
    volume=st.floats(),
    s=st.none() | trader_stats(),
    now=st.floats(),
    prior=st.floats(),
)
def test_score_always_within_bounds(
    pnl: float, volume: float, s: TraderStats | None, now: float, prior: float
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


def test_population_win_rate_is_pooled() -> None:
    assert population_win_rate([]) == 0.5
    assert population_win_rate([stats(closed=0, wins=0)]) == 0.5
    # (1 + 30) / (1 + 49) = 0.62
    pooled = population_win_rate([stats(closed=1, wins=1), stats(closed=49, wins=30)])
    assert pooled == pytest.approx(0.62)


@given(
    pnl=st.floats(),
    volume=st.floats(),
    s=st.none() | trader_stats(),
    now=st.floats(),
    prior=st.floats(),
)
def test_boards_split_of_the_score_is_copy_score(
    pnl: float, volume: float, s: TraderStats | None, now: float, prior: float
) -> None:
    score, components = score_row(pnl, volume, track_record(s, now, prior))
    result = copy_score(pnl, volume, s, now, prior)
    assert score == result.score
    assert components == tuple(result.components[name] for name in COMPONENTS)
