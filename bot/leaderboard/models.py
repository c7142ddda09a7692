"""The leaderboard's in-memory shape: boards, their entries and pages. Plain data.

Kept apart from building and scoring so the database layer can store and load boards without
importing the service that computes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

PERIODS: tuple[str, ...] = ("day", "week", "month", "all")
METRICS: tuple[str, ...] = ("pnl", "volume", "score")
OVERALL = "overall"
PAGE_SIZE = 10


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """A trader's row; its rank is its position in the metric's tuple (1-based), not stored.

    ``scored`` is false for traders without enough evidence for a copy score (or whose
    details are not loaded yet): they are in the pnl and volume rankings only, and their
    ``score`` is 0."""

    wallet: str
    user_name: str
    x_username: str
    verified: bool
    pnl: float
    volume: float
    score: float
    components: tuple[float, ...]
    scored: bool = True


@dataclass(frozen=True, slots=True)
class PeriodBoard:
    """One (category, period) ranking by every metric; replaced whole, never edited in place.

    ``pending`` traders have no details yet and ``thin`` ones too little evidence: both are in
    the pnl and volume rankings but not in the score ranking."""

    period: str
    snapshot_id: int
    updated_at: float
    component_names: tuple[str, ...]
    by_metric: Mapping[str, tuple[BoardEntry, ...]]
    category: str = OVERALL
    pending: int = 0
    thin: int = 0

    @property
    def trader_count(self) -> int:
        return len(self.by_metric.get("pnl", ()))


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """How the weekly top 10s by score, PnL and volume did after they were picked.

    ``per_dollar`` maps metric -> realised PnL per dollar traded by that metric's picks from
    each pick's day on (None: nothing traded yet)."""

    first_pick: date
    picks: int  # weekly picks counted
    per_dollar: Mapping[str, float | None]


@dataclass(frozen=True, slots=True)
class BoardPage:
    period: str
    metric: str
    page: int
    total_pages: int
    entries: tuple[BoardEntry, ...]
    first_rank: int
    updated_at: float
    trader_count: int  # rows in this metric's ranking
    category: str = OVERALL
    pending: int = 0
    thin: int = 0
    record: ScoreRecord | None = None  # the score's own record (score ordering only)
    min_closed: int = 5  # the evidence a copy score needs (SCORE_MIN_CLOSED, SCORE_MIN_VOLUME)
    min_volume: float = 1_000.0


@dataclass(frozen=True, slots=True)
class SnapshotState:
    """The latest stored refresh of a board, whatever its outcome (for a warm start)."""

    status: str  # IN_PROGRESS | SUCCESS | FAILED
    error: str | None


@dataclass(frozen=True, slots=True)
class Pick:
    """One trader of a stored weekly top 10."""

    picked_on: date
    metric: str
    rank: int
    wallet: str
