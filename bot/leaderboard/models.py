"""The leaderboard's in-memory shape: boards, their entries and pages. Plain data.

Kept apart from building and scoring so the database layer can store and load boards without
importing the service that computes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PERIODS: tuple[str, ...] = ("day", "week", "month", "all")
METRICS: tuple[str, ...] = ("pnl", "volume", "score")
PAGE_SIZE = 10


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """A trader's row; its rank is its position in the metric's tuple (1-based), not stored."""

    wallet: str
    user_name: str
    x_username: str
    verified: bool
    pnl: float
    volume: float
    score: float
    components: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PeriodBoard:
    """One period's ranking by every metric; replaced whole, never edited in place."""

    period: str
    snapshot_id: int
    updated_at: float
    component_names: tuple[str, ...]
    by_metric: Mapping[str, tuple[BoardEntry, ...]]

    @property
    def trader_count(self) -> int:
        return len(self.by_metric.get("score", ()))


@dataclass(frozen=True, slots=True)
class BoardPage:
    period: str
    metric: str
    page: int
    total_pages: int
    entries: tuple[BoardEntry, ...]
    first_rank: int
    updated_at: float
    trader_count: int


@dataclass(frozen=True, slots=True)
class SnapshotState:
    """The latest stored refresh of a period, whatever its outcome (for a warm start)."""

    status: str  # IN_PROGRESS | SUCCESS | FAILED
    error: str | None
