"""The first /leaderboard answers after a first start: useful and honest while copy scores
still wait for traders' details (through LeaderboardService's reading API only)."""

from __future__ import annotations

from typing import Any

from bot.leaderboard.models import OVERALL, BoardEntry, BoardPage
from bot.leaderboard.service import Freshness
from bot.polymarket.records import CATEGORIES
from cogs.leaderboard import LeaderboardCog, LeaderboardView

NOW = 1_800_000_000.0


def entries(n: int, *, scored: bool) -> tuple[BoardEntry, ...]:
    return tuple(
        BoardEntry(
            f"0x{i:040x}", f"u{i}", "", False, 1e5 - i, 1e6, 50.0 if scored else 0.0, (), scored
        )
        for i in range(1, n + 1)
    )


class Reader:
    """The reading API the cog uses: page and freshness. ``pending`` traders still load."""

    def __init__(self, scored: int, pending: int) -> None:
        self.scored, self.pending = scored, pending

    def page(self, period: str, metric: str, page: int, category: str = "overall") -> BoardPage:
        if metric == "score":
            rows = entries(self.scored, scored=True)
            return BoardPage(period, metric, 1, 1, rows, 1, NOW, len(rows), pending=self.pending)
        rows = entries(self.scored + self.pending, scored=False)[:10]
        return BoardPage(period, metric, 1, 1, rows, 1, NOW, len(rows))

    def freshness(self, period: str, category: str = "overall") -> Freshness:
        return Freshness(False, NOW, None)


def description(reader: Any, metric: str = "score") -> tuple[str, str]:
    view = LeaderboardView(reader, owner_id=1, period="week", metric=metric, page=1)
    embed = view.render()
    assert embed is not None
    return embed.title or "", embed.description or ""


async def test_a_score_board_still_loading_says_so() -> None:
    title, text = description(Reader(scored=12, pending=30))
    assert "by copy score" in title
    assert "Still loading the history of 30 traders" in text


async def test_an_empty_score_board_is_answered_by_pnl_with_the_reason() -> None:
    title, text = description(Reader(scored=0, pending=30))
    assert "by PnL" in title
    assert text.startswith("**#1**")
    assert "Copy scores are still loading (30 traders to go): ranked by PnL" in text


async def test_a_finished_board_has_no_note_and_other_metrics_never_do() -> None:
    assert "⏳" not in description(Reader(scored=30, pending=0))[1]
    assert "⏳" not in description(Reader(scored=0, pending=30), metric="pnl")[1]


def test_the_category_choices_are_overall_and_polymarkets_categories() -> None:
    """One list of categories (bot/polymarket/records.py) feeds the boards and the option."""
    option = next(p for p in LeaderboardCog.leaderboard.parameters if p.name == "category")
    assert [choice.value for choice in option.choices] == [OVERALL, *CATEGORIES]
