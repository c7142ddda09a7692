from __future__ import annotations

from bot.polymarket.records import LeaderboardRow
from bot.services.boards import build_board, merge_candidates, page_of


def row(i: int, pnl: float, vol: float) -> LeaderboardRow:
    return LeaderboardRow(i, f"0x{i:040x}", f"user{i}", vol, pnl, "", "", False)


def test_candidates_from_both_orderings_are_merged_once() -> None:
    a, b, c = row(1, 10, 100), row(2, 5, 900), row(3, 1, 50)
    merged = merge_candidates([a, b], [b, c])
    assert [r.wallet for r in merged] == [a.wallet, b.wallet, c.wallet]


def test_each_metric_is_ranked_and_paged() -> None:
    rows = [row(i, pnl=float(i), vol=float(100 - i)) for i in range(1, 26)]
    board = build_board("week", rows, {}, now=1_000_000.0, prior_win_rate=0.5, snapshot_id=7)
    assert board.trader_count == 25 and board.snapshot_id == 7
    assert [e.pnl for e in board.by_metric["pnl"][:3]] == [25.0, 24.0, 23.0]
    assert [e.volume for e in board.by_metric["volume"][:2]] == [99.0, 98.0]
    scores = [e.score for e in board.by_metric["score"]]
    assert scores == sorted(scores, reverse=True)
    assert len(board.component_names) == len(board.by_metric["score"][0].components)

    page = page_of(board, "pnl", 3)
    assert (page.page, page.total_pages, page.first_rank, len(page.entries)) == (3, 3, 21, 5)
    assert page_of(board, "pnl", 99).page == 3  # clamped, never empty
    assert page_of(board, "pnl", 0).page == 1


def test_an_empty_board_has_one_empty_page() -> None:
    board = build_board("day", [], {}, now=0.0, prior_win_rate=0.5)
    page = page_of(board, "score", 1)
    assert page.total_pages == 1 and page.entries == ()
