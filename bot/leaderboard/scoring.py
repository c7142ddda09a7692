"""The copy score: how much a follower would likely profit from copying a trader, 0..100.

Raw PnL rewards size and luck, so the leaderboard's "score" ordering ranks on evidence that a
trader's edge is real, repeatable, current and copyable instead. Score =

    100 * (0.40 margin + 0.15 win_rate + 0.25 consistency + 0.20 recency)
        * (1 - mm_penalty) * (1 - luck_penalty)

* margin: pnl / (volume + $1,000), squashed as m / (m + 0.05), 0 when pnl <= 0. Profit per
  dollar traded is what a follower actually earns per dollar copied, so it weighs most. The
  $1,000 pad stops a $50 win on $60 of volume from saturating it; 5% margin scores 0.5.
* win_rate: share of closed positions that won, shrunk toward the population rate with 10
  pseudo-positions, so 3/3 is not "perfect". Weighted lightly: buying favourites wins often
  with no edge.
* consistency: share of the last 8 weekly buckets (with closed positions) whose realized PnL was
  positive, shrunk toward 1/2 with 2 pseudo-weeks. A steady edge beats one hot week.
* recency: 0.5 ** (days since last trade / 7). A trader who stopped trading cannot be copied.
* mm_penalty (up to 0.8): volume over $1M at under 0.5% |margin| looks like market making,
  whose spread and rebates a follower taking liquidity cannot capture. It ramps in linearly
  between $1M and $2M volume and as |margin| falls from 0.5% to 0.
* luck_penalty (up to 0.7): when the largest single position holds over 60% of all positive
  PnL the record is mostly one bet; the penalty ramps linearly to its maximum at 100%.

Without details yet (stats None) the track-record components take neutral values (the prior
win rate, 1/2, 1/2, no luck penalty), so the score depends on pnl and volume only, and
``partial`` is 1.0. Every breakdown carries the same component names, in the same meaning, so
boards can tabulate them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.polymarket.records import Activity, ClosedPosition, Position

DAY = 86_400.0
WEEK = 7 * DAY

W_MARGIN = 0.40
W_WIN_RATE = 0.15
W_CONSISTENCY = 0.25
W_RECENCY = 0.20

VOLUME_PAD = 1_000.0  # dollars added to volume before dividing, so tiny samples cannot saturate
MARGIN_HALF = 0.05  # margin at which the margin component is 0.5
WIN_RATE_PSEUDO = 10.0  # pseudo-positions at the population win rate
CONSISTENCY_WEEKS = 8
CONSISTENCY_PSEUDO = 2.0  # pseudo-weeks at 1/2
HALF_LIFE = 7 * DAY
RECENCY_HORIZON = 365 * DAY  # beyond this recency is 0 (skips exp on long-dead wallets)
MM_VOLUME = 1_000_000.0  # penalty starts above this volume ...
MM_VOLUME_RAMP = 1_000_000.0  # ... and is full this much higher
MM_MARGIN = 0.005  # |pnl / volume| below this looks like market making
MM_MAX = 0.8
LUCK_SHARE = 0.6  # largest win's share of positive PnL above which the penalty starts
LUCK_MAX = 0.7

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
    "partial",
)


@dataclass(frozen=True, slots=True)
class TraderStats:
    """Aggregates of one trader's details that the score needs.

    Computed once per detail fetch (not per period or per refresh) and persisted as jsonb, so
    it holds only small numbers. Invariants are checked on construction, which lets
    ``copy_score`` trust them without re-validating 20,000 times a minute.
    """

    wallet: str
    closed_count: int  # closed positions seen (the most recent page)
    wins: int  # of those, realized PnL > 0
    weekly_active: int  # weeks (of the last 8) with at least one closed position
    weekly_positive: int  # of those, weeks whose realized PnL summed above 0
    last_trade_at: float | None  # unix seconds of the newest trade (any activity if no trade)
    largest_win_share: float  # largest single position's share of all positive PnL, 0..1
    trade_count: int  # TRADE rows in the fetched activity (informational)

    def __post_init__(self) -> None:
        if not 0 <= self.wins <= self.closed_count:
            raise ValueError(f"wins {self.wins} outside 0..{self.closed_count}")
        if not 0 <= self.weekly_positive <= self.weekly_active <= CONSISTENCY_WEEKS:
            raise ValueError("weekly counts out of range")
        if not 0.0 <= self.largest_win_share <= 1.0:
            raise ValueError(f"largest_win_share {self.largest_win_share} outside 0..1")
        if self.last_trade_at is not None and not math.isfinite(self.last_trade_at):
            raise ValueError("last_trade_at is not finite")
        if self.trade_count < 0:
            raise ValueError("negative trade_count")

    def to_dict(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "closed_count": self.closed_count,
            "wins": self.wins,
            "weekly_active": self.weekly_active,
            "weekly_positive": self.weekly_positive,
            "last_trade_at": self.last_trade_at,
            "largest_win_share": self.largest_win_share,
            "trade_count": self.trade_count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraderStats:
        """Inverse of ``to_dict``; raises KeyError/TypeError/ValueError on unreadable data."""
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
        )


def _position_key(asset: str, condition_id: str, outcome: str) -> str:
    """Token id when known; the same bet appears open and partly closed under one key."""
    return asset or f"{condition_id}:{outcome}"


def summarize(
    wallet: str,
    positions: Sequence[Position],
    closed: Sequence[ClosedPosition],
    activity: Sequence[Activity],
    now: float,
) -> TraderStats:
    """Reduce one detail fetch to the few numbers the score needs (done once, not per score)."""
    wins = sum(1 for c in closed if c.realized_pnl > 0)

    weekly: dict[int, float] = {}
    for c in closed:
        if c.timestamp <= 0:  # missing timestamp: cannot place it in a week
            continue
        age = max(0.0, now - c.timestamp)  # a clock a little ahead counts as this week
        if age < CONSISTENCY_WEEKS * WEEK:
            bucket = int(age // WEEK)
            weekly[bucket] = weekly.get(bucket, 0.0) + c.realized_pnl
    weekly_positive = sum(1 for pnl in weekly.values() if pnl > 0)

    pnl_by_position: dict[str, float] = {}
    for c in closed:
        key = _position_key(c.asset, c.condition_id, c.outcome)
        pnl_by_position[key] = pnl_by_position.get(key, 0.0) + c.realized_pnl
    for p in positions:
        key = _position_key(p.asset, p.condition_id, p.outcome)
        pnl_by_position[key] = pnl_by_position.get(key, 0.0) + p.cash_pnl + p.realized_pnl
    gains = [pnl for pnl in pnl_by_position.values() if pnl > 0]
    total_gain = sum(gains)
    largest_win_share = min(1.0, max(gains) / total_gain) if total_gain > 0 else 0.0

    trade_times = [a.timestamp for a in activity if a.type == "TRADE" and a.timestamp > 0]
    any_times = trade_times or [a.timestamp for a in activity if a.timestamp > 0]
    return TraderStats(
        wallet=wallet,
        closed_count=len(closed),
        wins=wins,
        weekly_active=len(weekly),
        weekly_positive=weekly_positive,
        last_trade_at=max(any_times) if any_times else None,
        largest_win_share=largest_win_share,
        trade_count=len(trade_times),
    )


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """The score and the components it came from, so /trader can explain a rank."""

    score: float  # 0..100, rounded to 2 decimals
    components: dict[str, float]  # always the names in COMPONENTS, each 0..1


def population_win_rate(stats: Iterable[TraderStats]) -> float:
    """Pooled win rate of every trader with details: the prior small samples shrink toward.

    Pooled (total wins / total closed) rather than a mean of rates so a trader with one
    closed position does not move the prior as much as one with fifty.
    """
    wins = closed = 0
    for s in stats:
        wins += s.wins
        closed += s.closed_count
    return wins / closed if closed else 0.5


# A wallet's period-independent score inputs, in COMPONENTS order minus the two that depend on
# the period's pnl and volume: (win_rate, consistency, recency, luck_penalty, partial).
TrackRecord = tuple[float, float, float, float, float]


def track_record(stats: TraderStats | None, now: float, prior_win_rate: float = 0.5) -> TrackRecord:
    """The parts of the score that come from a trader's details, not from a period's row.

    They depend only on (stats, now, prior_win_rate), so a refresh can compute them once per
    wallet and reuse them for every period the wallet is ranked in (see ``score_row``).
    """
    if not 0.0 <= prior_win_rate <= 1.0:  # also catches NaN
        prior_win_rate = 0.5
    if stats is None:
        return (float(prior_win_rate), 0.5, 0.5, 0.0, 1.0)
    win_rate = (stats.wins + WIN_RATE_PSEUDO * prior_win_rate) / (
        stats.closed_count + WIN_RATE_PSEUDO
    )
    consistency = (stats.weekly_positive + CONSISTENCY_PSEUDO * 0.5) / (
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
    return (win_rate, consistency, recency, luck_penalty, 0.0)


def score_row(pnl: float, volume: float, track: TrackRecord) -> tuple[float, tuple[float, ...]]:
    """(score, components in COMPONENTS order) of one row, given its wallet's ``track_record``.

    The per-row half of ``copy_score``: straight-line arithmetic, no dict, called for every
    candidate of every period on each refresh.
    """
    if not _isfinite(pnl):
        pnl = 0.0
    if not (_isfinite(volume) and volume > 0.0):
        volume = 0.0

    m = pnl / (volume + VOLUME_PAD)
    margin = m / (m + MARGIN_HALF) if m > 0.0 else 0.0

    mm_penalty = 0.0
    if volume > MM_VOLUME:
        abs_margin = abs(pnl) / volume
        if abs_margin < MM_MARGIN:
            ramp = min(1.0, (volume - MM_VOLUME) / MM_VOLUME_RAMP)
            mm_penalty = MM_MAX * ramp * (1.0 - abs_margin / MM_MARGIN)

    win_rate, consistency, recency, luck_penalty, partial = track
    quality = (
        W_MARGIN * margin
        + W_WIN_RATE * win_rate
        + W_CONSISTENCY * consistency
        + W_RECENCY * recency
    )
    # floor(x + 0.5) rounds to 2 decimals like round(x, 2) at a third of the cost (x >= 0).
    score = _floor(10_000.0 * quality * (1.0 - mm_penalty) * (1.0 - luck_penalty) + 0.5) / 100.0
    return score, (margin, win_rate, consistency, recency, mm_penalty, luck_penalty, partial)


def copy_score(
    pnl: float,
    volume: float,
    stats: TraderStats | None,
    now: float,
    prior_win_rate: float = 0.5,
) -> ScoreBreakdown:
    """Score one leaderboard row (see the module docstring for the formula and weights).

    Non-finite inputs count as zero rather than raising: one bad upstream row must not break
    a board. Boards score many rows with ``track_record`` + ``score_row`` directly (the same
    arithmetic, without the per-row dict).
    """
    score, components = score_row(pnl, volume, track_record(stats, now, prior_win_rate))
    return ScoreBreakdown(score, dict(zip(COMPONENTS, components, strict=True)))
