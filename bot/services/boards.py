"""The leaderboard's in-memory shape and how one period's board is built from candidates.

Kept apart from the refresh orchestration so that building, ranking and paging are plain
functions: cheap to test and to benchmark (the refresh scores up to 20,000 rows per minute).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.polymarket.records import LeaderboardRow
from bot.services.scoring import TraderStats, copy_score

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


def merge_candidates(*lists: Iterable[LeaderboardRow]) -> list[LeaderboardRow]:
    """Union of the PNL- and VOL-ordered candidate lists of one period, one row per wallet."""
    merged: dict[str, LeaderboardRow] = {}
    for rows in lists:
        for row in rows:
            merged.setdefault(row.wallet, row)
    return list(merged.values())


def build_board(
    period: str,
    candidates: Iterable[LeaderboardRow],
    stats: Mapping[str, TraderStats],
    *,
    now: float,
    prior_win_rate: float,
    snapshot_id: int = 0,
) -> PeriodBoard:
    """Score every candidate and rank by each metric (ties broken by wallet for stability)."""
    scored: list[BoardEntry] = []
    names: tuple[str, ...] = ()
    for row in candidates:
        breakdown = copy_score(row.pnl, row.volume, stats.get(row.wallet), now, prior_win_rate)
        if not names:
            names = tuple(sorted(breakdown.components))
        components = tuple(float(breakdown.components.get(name, 0.0)) for name in names)
        scored.append(
            BoardEntry(
                wallet=row.wallet,
                user_name=row.user_name,
                x_username=row.x_username,
                verified=row.verified,
                pnl=row.pnl,
                volume=row.volume,
                score=breakdown.score,
                components=components,
            )
        )
    by_metric = {
        "pnl": tuple(sorted(scored, key=lambda e: (-e.pnl, e.wallet))),
        "volume": tuple(sorted(scored, key=lambda e: (-e.volume, e.wallet))),
        "score": tuple(sorted(scored, key=lambda e: (-e.score, -e.pnl, e.wallet))),
    }
    return PeriodBoard(
        period=period,
        snapshot_id=snapshot_id,
        updated_at=now,
        component_names=names,
        by_metric=by_metric,
    )


def page_of(board: PeriodBoard, metric: str, page: int, per_page: int = PAGE_SIZE) -> BoardPage:
    """A page of the ranking; out-of-range pages are clamped to the nearest real page."""
    rows = board.by_metric.get(metric, ())
    total_pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(1, page), total_pages)
    start = (page - 1) * per_page
    return BoardPage(
        period=board.period,
        metric=metric,
        page=page,
        total_pages=total_pages,
        entries=rows[start : start + per_page],
        first_rank=start + 1,
        updated_at=board.updated_at,
        trader_count=len(rows),
    )
