"""The traders feature's domain types: a profile as /trader shows it, and what is stored.

Plain data, so the database layer can return it and render can show it without importing the
service that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.leaderboard.evidence import Evidence, EvidenceStatus
from bot.leaderboard.scoring import ScoreBreakdown, TraderStats
from bot.polymarket.records import Position
from bot.trackrecord.models import TrackRecordSummary


@dataclass(frozen=True)
class Standing:
    rank: int
    metric: str  # "score" (ranked by copy score), else "pnl" (not enough evidence for one)
    pnl: float
    volume: float


@dataclass(frozen=True)
class TraderProfile:
    wallet: str
    name: str
    pseudonym: str
    standings: dict[str, Standing]  # period -> standing, only where ranked
    score: ScoreBreakdown | None  # None without enough evidence (see ``evidence``)
    evidence: EvidenceStatus
    thresholds: Evidence  # what a copy score needs
    volume_recent: float  # dollars traded in the last 90 days, as far as known
    stats: TraderStats
    markets_traded: int
    positions: tuple[Position, ...]
    latest_trades: tuple[dict[str, Any], ...]
    pnl_series: tuple[tuple[float, float], ...]  # (unix seconds, cumulative PnL)
    details_at: float
    alerts: TrackRecordSummary | None = None  # alerts on this trader's trades, every server

    @property
    def win_rate(self) -> float | None:
        return self.stats.wins / self.stats.closed_count if self.stats.closed_count else None

    @property
    def has_activity(self) -> bool:
        """False for a wallet Polymarket knows nothing of: never ranked, no position, no trade
        (often an account's signing address pasted instead of its proxy wallet)."""
        return bool(
            self.standings
            or self.positions
            or self.latest_trades
            or self.stats.closed_count
            or self.markets_traded
            or self.pnl_series
        )


@dataclass(frozen=True)
class StoredTrader:
    """A trader's row: identity and the aggregates of the last detail fetch."""

    wallet: str
    user_name: str
    pseudonym: str
    profile_image: str
    stats: dict[str, Any]  # TraderStats.to_dict()
    latest_trades: list[dict[str, Any]]
    markets_traded: int
    details_at: float | None


@dataclass(frozen=True)
class DailyStat:
    day: date
    realized_pnl: float
    volume: float
    trades: int
