from __future__ import annotations

from bot.leaderboard.boards import build_board, merge_candidates, page_of
from bot.leaderboard.models import BoardEntry
from bot.leaderboard.scoring import COMPONENTS, TraderStats, copy_score
from bot.polymarket.records import LeaderboardRow


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


def tied_rows(n: int) -> list[LeaderboardRow]:
    """Few distinct pnl/volume values (so ties are everywhere), wallets in no particular order."""
    return [
        LeaderboardRow(
            i, f"0x{(i * 7919) % 997:040x}", f"u{i}", float(i % 4), float(i % 3), "", "", False
        )
        for i in range(n)
    ]


def some_stats(
    rows: list[LeaderboardRow], now: float, share: float = 0.3
) -> dict[str, TraderStats]:
    return {
        r.wallet: TraderStats(r.wallet, 12, i % 13, 6, i % 7, now - i * 40_000.0, share, 3)
        for i, r in enumerate(rows)
        if i % 3
    }


def test_ties_are_broken_as_documented() -> None:
    rows = tied_rows(60)
    now = 1_700_000_000.0
    board = build_board("all", rows, some_stats(rows, now), now=now, prior_win_rate=0.45)
    entries = board.by_metric["score"]
    assert [e.wallet for e in board.by_metric["pnl"]] == [
        e.wallet for e in sorted(entries, key=lambda e: (-e.pnl, e.wallet))
    ]
    assert [e.wallet for e in board.by_metric["volume"]] == [
        e.wallet for e in sorted(entries, key=lambda e: (-e.volume, e.wallet))
    ]
    assert list(entries) == sorted(entries, key=lambda e: (-e.score, -e.pnl, e.wallet))
    assert len({e.score for e in entries}) < len(entries)  # the score ties were exercised
    # One BoardEntry per trader, shared by the three rankings.
    assert {id(e) for e in board.by_metric["pnl"]} == {id(e) for e in entries}


def test_entries_carry_copy_score_and_its_components_in_a_fixed_order() -> None:
    rows = tied_rows(30)
    now = 1_700_000_000.0
    stats = some_stats(rows, now)
    board = build_board("day", rows, stats, now=now, prior_win_rate=0.45)
    assert board.component_names == COMPONENTS
    for e in board.by_metric["score"]:
        expected = copy_score(e.pnl, e.volume, stats.get(e.wallet), now, 0.45)
        assert e.score == expected.score
        assert e.components == tuple(expected.components[name] for name in COMPONENTS)
        assert all(type(c) is float for c in e.components)
        assert e == BoardEntry(
            e.wallet, e.user_name, e.x_username, e.verified, e.pnl, e.volume, e.score, e.components
        )


def test_track_records_reused_across_periods_follow_replaced_stats() -> None:
    rows = tied_rows(20)
    now = 1_700_000_000.0
    stats = some_stats(rows, now)
    before = build_board("week", rows, stats, now=now, prior_win_rate=0.5)
    # Same clock reading and prior (another period of the same refresh), new details for all.
    stats.update(some_stats(rows, now, share=1.0))
    after = build_board("month", rows, stats, now=now, prior_win_rate=0.5)
    expected = {
        r.wallet: copy_score(r.pnl, r.volume, stats.get(r.wallet), now, 0.5).score for r in rows
    }
    assert {e.wallet: e.score for e in after.by_metric["score"]} == expected
    assert after.by_metric["score"] != before.by_metric["score"]
