"""Who may be ranked by copy score, and the score explained as parts that add up to it.

A score computed from three closed positions and $60 traded is noise that looks like a
verdict, so a trader is ranked by score only with enough evidence in the last 90 days: at least
``SCORE_MIN_CLOSED`` closed positions and ``SCORE_MIN_VOLUME`` dollars traded. Below that they
keep their PnL and volume ranks; traders whose details are not loaded yet are not scored either
(the board counts them as pending).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from bot.leaderboard.scoring import COMPONENTS, WEIGHTS, TraderStats


class EvidenceStatus(StrEnum):
    SCORED = "scored"
    PENDING = "pending"  # details not loaded yet
    THIN = "thin"  # loaded, below the thresholds


@dataclass(frozen=True, slots=True)
class Evidence:
    """The evidence thresholds (SCORE_MIN_CLOSED, SCORE_MIN_VOLUME), over the last 90 days."""

    min_closed: int = 5
    min_volume: float = 1_000.0

    def status(self, stats: TraderStats | None, volume_floor: float = 0.0) -> EvidenceStatus:
        """``volume_floor``: a lower bound of the 90-day volume known from elsewhere (a day,
        week or month board row: the fetched activity page may not reach back 90 days)."""
        if stats is None:
            return EvidenceStatus.PENDING
        volume = max(stats.volume_recent, volume_floor if math.isfinite(volume_floor) else 0.0)
        if stats.closed_recent >= self.min_closed and volume >= self.min_volume:
            return EvidenceStatus.SCORED
        return EvidenceStatus.THIN


# Labels of the parts, in COMPONENTS order; the two penalties take points off.
PART_LABELS: dict[str, str] = {
    "margin": "margin",
    "win_rate": "win rate",
    "consistency": "consistency",
    "recency": "recency",
    "mm_penalty": "market-maker penalty",
    "luck_penalty": "one-bet penalty",
}


def shown_score(score: float) -> float:
    """The score as users read it: to 0.1 (the parts below add up to exactly this)."""
    return round(score * 10.0) / 10.0


def contributions(components: dict[str, float], score: float) -> list[tuple[str, float]]:
    """The score as (part, points), each rounded to 0.1 so that the rounded parts add up to
    ``shown_score(score)`` exactly (largest-remainder rounding).

    The four weighted parts give ``100 * weight * value`` points; the market-maker penalty
    takes ``base * mm`` off and the one-bet penalty ``base * (1 - mm) * luck`` (negative
    points), so the sum is ``base * (1 - mm) * (1 - luck)``: the score.
    """
    values = [components.get(name, 0.0) for name in COMPONENTS]
    parts = [100.0 * w * v for w, v in zip(WEIGHTS, values, strict=False)]
    base = sum(parts)
    mm, luck = components.get("mm_penalty", 0.0), components.get("luck_penalty", 0.0)
    parts += [-base * mm, -base * (1.0 - mm) * luck]
    target = round(score * 10.0)
    tenths = [math.floor(p * 10.0) for p in parts]
    remainders = [p * 10.0 - t for p, t in zip(parts, tenths, strict=True)]
    missing = target - sum(tenths)
    order = sorted(range(len(parts)), key=lambda i: -remainders[i])
    if missing < 0:
        order.reverse()
    for i in order[: abs(missing)]:
        tenths[i] += 1 if missing > 0 else -1
    return [(name, t / 10.0) for name, t in zip(COMPONENTS, tenths, strict=True)]
