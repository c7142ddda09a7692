"""The copy score: how much a follower would likely profit from copying a trader, 0..100.

Raw PnL rewards size and luck, so the leaderboard's "score" ordering ranks on evidence that a
trader's edge is real, repeatable, current and copyable instead. Score =

    100 * (0.40 margin + 0.15 win_rate + 0.25 consistency + 0.20 recency)
        * (1 - mm_penalty) * (1 - luck_penalty)

* margin: realised PnL per dollar put into the positions closed in the last 90 days,
  ``(R + 2,500 * prior) / (C + 2,500)`` (R realised PnL, C their cost, prior the population's
  median margin), squashed as m / (m + 0.05), 0 when m <= 0. What a follower earns per dollar
  copied, measured on results that are settled rather than on a period's price marks, so it
  weighs most; the $2,500 of pseudo-cost at the population's margin keeps a $50 win on $60
  from saturating it. 5% scores 0.5.
* win_rate: share of closed positions that won, shrunk toward the population rate with 10
  pseudo-positions, so 3/3 is not "perfect". Weighted lightly: buying favourites wins often
  with no edge.
* consistency: share of the last 8 weekly buckets (with closed positions) whose realised PnL
  was positive, shrunk toward the population's share with 2 pseudo-weeks.
* recency: 0.5 ** (days since last trade / 7). A trader who stopped trading cannot be copied.
  A measurement, not an estimate from a sample, so there is nothing to shrink.
* mm_penalty (up to 0.8): volume over $1M at under 0.5% |margin| looks like market making,
  whose spread and rebates a follower taking liquidity cannot capture. It ramps in linearly
  between $1M and $2M volume and as |margin| falls from 0.5% to 0; judged on the board row
  (pnl, volume) and on the last 90 days' realised results, the larger of the two.
* luck_penalty (up to 0.7): when the largest single position holds over 60% of all positive
  PnL the record is mostly one bet; the penalty ramps linearly to its maximum at 100%.

Only traders with enough evidence are scored at all (bot/leaderboard/evidence.py).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.polymarket.records import Activity, ClosedPosition, Position

DAY = 86_400.0
WEEK = 7 * DAY
EVIDENCE_WINDOW = 90 * DAY  # the window of the margin and of the evidence thresholds

W_MARGIN = 0.40
W_WIN_RATE = 0.15
W_CONSISTENCY = 0.25
W_RECENCY = 0.20
WEIGHTS: tuple[float, ...] = (W_MARGIN, W_WIN_RATE, W_CONSISTENCY, W_RECENCY)

MARGIN_PSEUDO_COST = 2_500.0  # dollars of pseudo-cost at the population's median margin
MARGIN_HALF = 0.05  # margin at which the margin component is 0.5
PRIOR_MARGIN_BOUND = 0.2  # the population margin used as prior is clamped to +-20%
WIN_RATE_PSEUDO = 10.0  # pseudo-positions at the population win rate
CONSISTENCY_WEEKS = 8
CONSISTENCY_PSEUDO = 2.0  # pseudo-weeks at the population's share of positive weeks
HALF_LIFE = 7 * DAY
RECENCY_HORIZON = 365 * DAY  # beyond this recency is 0 (skips exp on long-dead wallets)
MM_VOLUME = 1_000_000.0  # penalty starts above this volume ...
MM_VOLUME_RAMP = 1_000_000.0  # ... and is full this much higher
MM_MARGIN = 0.005  # |pnl / volume| below this looks like market making
MM_MAX = 0.8
LUCK_SHARE = 0.6  # largest win's share of positive PnL above which the penalty starts
LUCK_MAX = 0.7
SUM_BOUND = 1e13  # dollars: no real trader comes near; absurd upstream sums are clamped to it

_LN2_OVER_HALF_LIFE = math.log(2.0) / HALF_LIFE
_isfinite = math.isfinite  # module globals: one lookup instead of two on the per-row path
_floor = math.floor

COMPONENTS: tuple[str, ...] = (
    "margin",
    "win_rate",
    "consistency",
    "recency",
    "mm_penalty",
    "luck_penalty",
)


@dataclass(frozen=True, slots=True)
class TraderStats:
    """Aggregates of one trader's details that the score needs.

    Computed once per detail fetch (not per period or per refresh) and persisted as jsonb, so
    it holds only small numbers. Invariants are checked on construction, which lets the
    scoring trust them without re-validating 20,000 times a minute. The ``*_recent`` fields
    cover the last 90 days (``EVIDENCE_WINDOW``) before the fetch.
    """

    wallet: str
    closed_count: int  # closed positions seen (the most recent page)
    wins: int  # of those, realised PnL > 0
    weekly_active: int  # weeks (of the last 8) with at least one closed position
    weekly_positive: int  # of those, weeks whose realised PnL summed above 0
    last_trade_at: float | None  # unix seconds of the newest trade (any activity if no trade)
    largest_win_share: float  # largest single position's share of all positive PnL, 0..1
    trade_count: int  # TRADE rows in the fetched activity (informational)
    closed_recent: int  # closed positions of the last 90 days
    realized_recent: float  # their realised PnL
    cost_recent: float  # what they cost: shares bought x average price
    volume_recent: float  # dollars traded (TRADE activity) in the last 90 days

    def __post_init__(self) -> None:
        if not 0 <= self.wins <= self.closed_count:
            raise ValueError(f"wins {self.wins} outside 0..{self.closed_count}")
        if not 0 <= self.weekly_positive <= self.weekly_active <= CONSISTENCY_WEEKS:
            raise ValueError("weekly counts out of range")
        if not 0.0 <= self.largest_win_share <= 1.0:
            raise ValueError(f"largest_win_share {self.largest_win_share} outside 0..1")
        if self.last_trade_at is not None and not math.isfinite(self.last_trade_at):
            raise ValueError("last_trade_at is not finite")
        if self.trade_count < 0 or not 0 <= self.closed_recent <= self.closed_count:
            raise ValueError("counts out of range")
        if not math.isfinite(self.realized_recent):
            raise ValueError("realized_recent is not finite")
        if not (0.0 <= self.cost_recent < math.inf and 0.0 <= self.volume_recent < math.inf):
            raise ValueError("cost_recent and volume_recent must be finite and >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraderStats:
        """Inverse of ``to_dict``; raises KeyError/TypeError/ValueError on unreadable data
        (stats stored before the 90-day fields existed are unreadable: they are fetched again)."""
        last = data["last_trade_at"]
        return cls(
            wallet=str(data["wallet"]),
            closed_count=int(data["closed_count"]),
            wins=int(data["wins"]),
            weekly_active=int(data["weekly_active"]),
            weekly_positive=int(data["weekly_positive"]),
            last_trade_at=None if last is None else float(last),
            largest_win_share=float(data["largest_win_share"]),
            trade_count=int(data["trade_count"]),
            closed_recent=int(data["closed_recent"]),
            realized_recent=float(data["realized_recent"]),
            cost_recent=float(data["cost_recent"]),
            volume_recent=float(data["volume_recent"]),
        )


def _position_key(asset: str, condition_id: str, outcome: str) -> str:
    """Token id when known; the same bet appears open and partly closed under one key."""
    return asset or f"{condition_id}:{outcome}"


def _largest_win_share(positions: Sequence[Position], closed: Sequence[ClosedPosition]) -> float:
    pnl_by_position: dict[str, float] = {}
    for c in closed:
        key = _position_key(c.asset, c.condition_id, c.outcome)
        pnl_by_position[key] = pnl_by_position.get(key, 0.0) + c.realized_pnl
    for p in positions:
        key = _position_key(p.asset, p.condition_id, p.outcome)
        pnl_by_position[key] = pnl_by_position.get(key, 0.0) + p.cash_pnl + p.realized_pnl
    gains = [pnl for pnl in pnl_by_position.values() if pnl > 0]
    total_gain = sum(gains)
    return min(1.0, max(gains) / total_gain) if total_gain > 0 else 0.0


def summarize(
    wallet: str,
    positions: Sequence[Position],
    closed: Sequence[ClosedPosition],
    activity: Sequence[Activity],
    now: float,
) -> TraderStats:
    """Reduce one detail fetch to the few numbers the score needs (done once, not per score)."""
    weekly: dict[int, float] = {}
    cutoff = now - EVIDENCE_WINDOW
    recent = [c for c in closed if c.timestamp > 0 and c.timestamp >= cutoff]
    for c in closed:
        if c.timestamp <= 0:  # missing timestamp: cannot place it in a week
            continue
        age = max(0.0, now - c.timestamp)  # a clock a little ahead counts as this week
        if age < CONSISTENCY_WEEKS * WEEK:
            bucket = int(age // WEEK)
            weekly[bucket] = weekly.get(bucket, 0.0) + c.realized_pnl

    trades = [a for a in activity if a.type == "TRADE" and a.timestamp > 0]
    any_times = [a.timestamp for a in trades] or [a.timestamp for a in activity if a.timestamp > 0]
    traded = [a for a in trades if a.timestamp >= cutoff]
    return TraderStats(
        wallet=wallet,
        closed_count=len(closed),
        wins=sum(1 for c in closed if c.realized_pnl > 0),
        weekly_active=len(weekly),
        weekly_positive=sum(1 for pnl in weekly.values() if pnl > 0),
        last_trade_at=max(any_times) if any_times else None,
        largest_win_share=_largest_win_share(positions, closed),
        trade_count=len(trades),
        closed_recent=len(recent),
        realized_recent=_bounded_sum((c.realized_pnl for c in recent), -SUM_BOUND),
        cost_recent=_bounded_sum(c.total_bought * c.avg_price for c in recent),
        volume_recent=_bounded_sum(a.usdc_size or a.size * a.price for a in traded),
    )


def _bounded_sum(values: Iterable[float], low: float = 0.0) -> float:
    """A sum of dollar amounts, each and the total clamped to [low, SUM_BOUND]: absurd rows
    (1e300 dollars, inf) are cut down, they never overflow the score's arithmetic."""
    total = sum(max(low, min(SUM_BOUND, v)) for v in values if not math.isnan(v))
    return max(low, min(SUM_BOUND, total))


@dataclass(frozen=True, slots=True)
class Priors:
    """The population's averages that small samples are shrunk toward (pooled, see below)."""

    win_rate: float = 0.5
    margin: float = 0.0
    consistency: float = 0.5


def population_priors(stats: Iterable[TraderStats]) -> Priors:
    """The averages of every trader with details. Win rate and consistency are pooled (total
    wins / total closed, positive weeks / active weeks), so a trader with one closed position
    moves them less than one with fifty. The margin is the median of the traders' realised
    margins: pooled, one whale's lucky long shot would set it for everyone."""
    wins = closed = positive = active = 0
    margins: list[float] = []
    for s in stats:
        wins += s.wins
        closed += s.closed_count
        positive += s.weekly_positive
        active += s.weekly_active
        if s.cost_recent > 0:
            margins.append(s.realized_recent / s.cost_recent)
    margin = statistics.median(margins) if margins else 0.0
    return Priors(
        win_rate=wins / closed if closed else 0.5,
        margin=max(-PRIOR_MARGIN_BOUND, min(PRIOR_MARGIN_BOUND, margin)),
        consistency=positive / active if active else 0.5,
    )


def _clean_priors(priors: Priors) -> tuple[float, float, float]:
    """Priors as (win rate, margin, consistency), junk replaced by the neutral defaults."""
    win_rate = priors.win_rate if 0.0 <= priors.win_rate <= 1.0 else 0.5  # also catches NaN
    consistency = priors.consistency if 0.0 <= priors.consistency <= 1.0 else 0.5
    margin = priors.margin if abs(priors.margin) <= PRIOR_MARGIN_BOUND else 0.0
    return win_rate, margin, consistency


def _mm_penalty(pnl: float, volume: float) -> float:
    if volume <= MM_VOLUME:
        return 0.0
    abs_margin = abs(pnl) / volume
    if abs_margin >= MM_MARGIN:
        return 0.0
    ramp = min(1.0, (volume - MM_VOLUME) / MM_VOLUME_RAMP)
    return MM_MAX * ramp * (1.0 - abs_margin / MM_MARGIN)


# A wallet's period-independent score inputs: (margin, win_rate, consistency, recency,
# luck_penalty, mm_penalty judged on its 90-day realised results).
ScoreInputs = tuple[float, float, float, float, float, float]


def score_inputs(stats: TraderStats, now: float, priors: Priors) -> ScoreInputs:
    """The parts of the score that come from a trader's details, not from a period's row.

    They depend only on (stats, now, priors), so a refresh computes them once per wallet and
    reuses them for every board the wallet is ranked in (see ``score_row``).
    """
    prior_win_rate, prior_margin, prior_consistency = _clean_priors(priors)
    m = (stats.realized_recent + MARGIN_PSEUDO_COST * prior_margin) / (
        stats.cost_recent + MARGIN_PSEUDO_COST
    )
    margin = m / (m + MARGIN_HALF) if m > 0.0 else 0.0
    win_rate = (stats.wins + WIN_RATE_PSEUDO * prior_win_rate) / (
        stats.closed_count + WIN_RATE_PSEUDO
    )
    consistency = (stats.weekly_positive + CONSISTENCY_PSEUDO * prior_consistency) / (
        stats.weekly_active + CONSISTENCY_PSEUDO
    )
    recency = 0.0
    if stats.last_trade_at is not None:
        age = now - stats.last_trade_at
        if age <= 0.0:
            recency = 1.0
        elif age < RECENCY_HORIZON:  # NaN age falls through to 0
            recency = math.exp(-age * _LN2_OVER_HALF_LIFE)
    share = stats.largest_win_share
    luck_penalty = (
        LUCK_MAX * (share - LUCK_SHARE) / (1.0 - LUCK_SHARE) if share > LUCK_SHARE else 0.0
    )
    traded = max(stats.volume_recent, stats.cost_recent)
    return (
        margin,
        win_rate,
        consistency,
        recency,
        luck_penalty,
        _mm_penalty(stats.realized_recent, traded),
    )


def score_row(pnl: float, volume: float, inputs: ScoreInputs) -> tuple[float, tuple[float, ...]]:
    """(score, components in COMPONENTS order) of one board row, given its wallet's inputs.

    The per-row half of ``copy_score``: straight-line arithmetic, no dict, called for every
    candidate of every board on each refresh.
    """
    margin, win_rate, consistency, recency, luck_penalty, mm_recent = inputs
    mm_penalty = mm_recent
    if _isfinite(pnl) and _isfinite(volume) and volume > MM_VOLUME:
        mm_penalty = max(mm_recent, _mm_penalty(pnl, volume))
    quality = (
        W_MARGIN * margin
        + W_WIN_RATE * win_rate
        + W_CONSISTENCY * consistency
        + W_RECENCY * recency
    )
    # floor(x + 0.5) rounds to 2 decimals like round(x, 2) at a third of the cost (x >= 0).
    score = _floor(10_000.0 * quality * (1.0 - mm_penalty) * (1.0 - luck_penalty) + 0.5) / 100.0
    return score, (margin, win_rate, consistency, recency, mm_penalty, luck_penalty)


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """The score and the components it came from, so /trader can explain a rank."""

    score: float  # 0..100, rounded to 2 decimals
    components: dict[str, float]  # always the names in COMPONENTS, each 0..1


def copy_score(
    pnl: float, volume: float, stats: TraderStats, now: float, priors: Priors | None = None
) -> ScoreBreakdown:
    """Score one trader (see the module docstring for the formula and weights).

    Non-finite row inputs are ignored rather than raising: one bad upstream row must not break
    a board. Boards score many rows with ``score_inputs`` + ``score_row`` directly (the same
    arithmetic, without the per-row dict).
    """
    score, components = score_row(pnl, volume, score_inputs(stats, now, priors or Priors()))
    return ScoreBreakdown(score, dict(zip(COMPONENTS, components, strict=True)))
