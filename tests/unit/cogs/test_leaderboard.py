"""The first /leaderboard answers after a first start: useful and honest while copy scores
still wait for traders' details (through LeaderboardService's reading API only)."""

from __future__ import annotations

from typing import Any

from bot.leaderboard.boards import build_board, page_of
from bot.leaderboard.models import BoardPage, PeriodBoard
from bot.leaderboard.service import Freshness
from bot.polymarket.records import LeaderboardRow
from cogs.leaderboard import LeaderboardView

NOW = 1_800_000_000.0


def board(n: int) -> PeriodBoard:
    rows = [
        LeaderboardRow(i, f"0x{i:040x}", f"u{i}", 1e6, 1e5 - i, "", "", False)
        for i in range(1, n + 1)
    ]
    return build_board("week", rows, {}, now=NOW, prior_win_rate=0.5)


class Reader:
    """The reading API the cog uses: page, loading, freshness."""

    def __init__(self, current: PeriodBoard, loading: int, *, empty_scores: bool = False) -> None:
        self.current, self._loading, self.empty_scores = current, loading, empty_scores

    def page(self, period: str, metric: str, page: int) -> BoardPage:
        found = page_of(self.current, metric, page)
        if metric == "score" and self.empty_scores:
            return BoardPage(period, metric, 1, 1, (), 1, NOW, 0)
        return found

    def loading(self, period: str) -> int:
        return self._loading

    def freshness(self, period: str) -> Freshness:
        return Freshness(False, NOW, None)


def description(reader: Any, metric: str = "score") -> tuple[str, str]:
    view = LeaderboardView(reader, owner_id=1, period="week", metric=metric, page=1)
    embed = view.render()
    assert embed is not None
    return embed.title or "", embed.description or ""


async def test_scores_from_pnl_and_volume_only_say_so() -> None:
    title, text = description(Reader(board(30), loading=30))
    assert "by Copy score" in title
    assert "Still loading the history of 30 traders" in text


async def test_an_empty_score_board_is_answered_by_pnl_with_the_reason() -> None:
    title, text = description(Reader(board(30), loading=30, empty_scores=True))
    assert "by PnL" in title
    assert text.startswith("**1.**")
    assert "Copy scores are still loading (30 traders to go): ranked by PnL" in text


async def test_a_finished_board_has_no_note_and_other_metrics_never_do() -> None:
    assert "⏳" not in description(Reader(board(30), loading=0))[1]
    assert "⏳" not in description(Reader(board(30), loading=30), metric="pnl")[1]
