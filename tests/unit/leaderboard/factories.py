"""Builders for the leaderboard's unit tests: trader stats and boards with the defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.leaderboard.boards import build_board
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import PeriodBoard
from bot.leaderboard.scoring import DAY, Priors, TraderStats
from bot.polymarket.records import LeaderboardRow

NOW = 1_700_000_000.0
WALLET = "0x" + "ab" * 20


def stats(
    *,
    wallet: str = WALLET,
    closed: int = 10,
    wins: int = 7,
    active: int = 4,
    positive: int = 3,
    last_trade_days: float | None = 7.0,
    share: float = 0.5,
    trades: int = 20,
    recent: int | None = None,
    realized: float = 4_000.0,
    cost: float = 17_500.0,
    volume: float = 20_000.0,
    now: float = NOW,
) -> TraderStats:
    """A trader with enough evidence by default: 10 closed (all recent), $20K traded, a 20%
    realised margin on $17.5K of cost (so, with no prior, m = 4000 / 20000 = 0.2)."""
    return TraderStats(
        wallet=wallet,
        closed_count=closed,
        wins=wins,
        weekly_active=active,
        weekly_positive=positive,
        last_trade_at=None if last_trade_days is None else now - last_trade_days * DAY,
        largest_win_share=share,
        trade_count=trades,
        closed_recent=closed if recent is None else recent,
        realized_recent=realized,
        cost_recent=cost,
        volume_recent=volume,
    )


def row(i: int, pnl: float, vol: float, wallet: str | None = None) -> LeaderboardRow:
    return LeaderboardRow(i, wallet or f"0x{i:040x}", f"user{i}", vol, pnl, "", "", False)


def board(
    period: str,
    rows: Iterable[LeaderboardRow],
    trader_stats: Mapping[str, TraderStats] | None = None,
    *,
    now: float = NOW,
    priors: Priors | None = None,
    evidence: Evidence | None = None,
    snapshot_id: int = 0,
) -> PeriodBoard:
    return build_board(
        period,
        rows,
        trader_stats or {},
        now=now,
        priors=priors or Priors(),
        evidence=evidence or Evidence(),
        snapshot_id=snapshot_id,
    )


def scored_stats(rows: Iterable[LeaderboardRow], now: float = NOW) -> dict[str, TraderStats]:
    """Enough evidence for every row's wallet, with varied records."""
    return {
        r.wallet: stats(
            wallet=r.wallet,
            wins=i % 10,
            positive=i % 4,
            realized=100.0 * (i % 7) - 150.0,
            cost=1_000.0 + 10.0 * i,
            last_trade_days=i / 3,
            now=now,
        )
        for i, r in enumerate(rows)
    }
