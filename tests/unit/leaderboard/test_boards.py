from __future__ import annotations

from bot.leaderboard.boards import build_board, merge_candidates, page_of, volume_floors
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import BoardEntry
from bot.leaderboard.scoring import COMPONENTS, Priors, copy_score
from bot.polymarket.records import LeaderboardRow
from tests.unit.leaderboard.factories import NOW, board, row, scored_stats, stats


def test_candidates_from_both_orderings_are_merged_once() -> None:
    a, b, c = row(1, 10, 100), row(2, 5, 900), row(3, 1, 50)
    merged = merge_candidates([a, b], [b, c])
    assert [r.wallet for r in merged] == [a.wallet, b.wallet, c.wallet]


def test_each_metric_is_ranked_and_paged() -> None:
    rows = [row(i, pnl=float(i), vol=float(100 - i)) for i in range(1, 26)]
    built = board("week", rows, scored_stats(rows), snapshot_id=7)
    assert built.trader_count == 25 and built.snapshot_id == 7
    assert [e.pnl for e in built.by_metric["pnl"][:3]] == [25.0, 24.0, 23.0]
    assert [e.volume for e in built.by_metric["volume"][:2]] == [99.0, 98.0]
    scores = [e.score for e in built.by_metric["score"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 25
    assert len(built.component_names) == len(built.by_metric["score"][0].components)

    page = page_of(built, "pnl", 3)
    assert (page.page, page.total_pages, page.first_rank, len(page.entries)) == (3, 3, 21, 5)
    assert page_of(built, "pnl", 99).page == 3  # clamped, never empty
    assert page_of(built, "pnl", 0).page == 1


def test_an_empty_board_has_one_empty_page() -> None:
    page = page_of(board("day", []), "score", 1)
    assert page.total_pages == 1 and page.entries == ()


def test_no_trader_below_the_evidence_thresholds_is_ranked_by_score() -> None:
    rows = [row(i, pnl=1_000.0 * i, vol=500.0) for i in range(1, 7)]
    w = [r.wallet for r in rows]
    trader_stats = {
        w[0]: stats(wallet=w[0]),  # enough
        w[1]: stats(wallet=w[1], recent=4),  # 4 closed positions in 90 days: too few
        w[2]: stats(wallet=w[2], volume=999.0),  # $999 traded: too little
        w[3]: stats(wallet=w[3], closed=12, recent=3),  # many closed, but old
        w[4]: stats(wallet=w[4], volume=10.0),  # too little by its activity ...
        # w[5]: no details yet
    }
    floors = {w[4]: 1_500.0}  # ... but its week row shows $1,500 traded
    built = build_board(
        "week",
        rows,
        trader_stats,
        now=NOW,
        priors=Priors(),
        evidence=Evidence(min_closed=5, min_volume=1_000.0),
        volume_floor=floors,
    )
    assert {e.wallet for e in built.by_metric["score"]} == {w[0], w[4]}
    assert (built.pending, built.thin) == (1, 3)
    # everyone keeps their pnl and volume ranks; the unscored show as such
    assert [e.wallet for e in built.by_metric["pnl"]] == w[::-1]
    unscored = [e for e in built.by_metric["pnl"] if not e.scored]
    assert {e.wallet for e in unscored} == {w[1], w[2], w[3], w[5]}
    assert all(e.score == 0.0 for e in unscored)
    # stricter thresholds leave fewer
    strict = build_board(
        "week", rows, trader_stats, now=NOW, priors=Priors(), evidence=Evidence(11, 1_000.0)
    )
    assert [e.wallet for e in strict.by_metric["score"]] == [] and strict.thin == 5


def test_volume_floors_come_from_the_shorter_periods_only() -> None:
    a = "0x" + "a" * 40
    floors = volume_floors(
        {
            "day": [row(1, 0, 100.0, a)],
            "week": [row(1, 0, 700.0, a)],
            "month": [row(1, 0, 300.0, a)],
            "all": [row(1, 0, 9_999.0, a)],  # not within 90 days
        }
    )
    assert floors == {a: 700.0}


def tied_rows(n: int) -> list[LeaderboardRow]:
    """Few distinct pnl/volume values (so ties are everywhere), wallets in no particular order."""
    return [
        LeaderboardRow(
            i, f"0x{(i * 7919) % 997:040x}", f"u{i}", float(i % 4), float(i % 3), "", "", False
        )
        for i in range(n)
    ]


def test_ties_are_broken_as_documented() -> None:
    rows = tied_rows(60)
    trader_stats = {
        r.wallet: stats(wallet=r.wallet, wins=i % 3, realized=float(i % 2))
        for i, r in enumerate(rows)
        if i % 3
    }
    built = board("all", rows, trader_stats, priors=Priors(win_rate=0.45))
    everyone = built.by_metric["pnl"]
    assert [e.wallet for e in everyone] == [
        e.wallet for e in sorted(everyone, key=lambda e: (-e.pnl, e.wallet))
    ]
    assert [e.wallet for e in built.by_metric["volume"]] == [
        e.wallet for e in sorted(everyone, key=lambda e: (-e.volume, e.wallet))
    ]
    entries = built.by_metric["score"]
    scored = [e for e in everyone if e.scored]
    assert list(entries) == sorted(scored, key=lambda e: (-e.score, -e.pnl, e.wallet))
    assert len({e.score for e in entries}) < len(entries)  # the score ties were exercised
    # One BoardEntry per trader, shared by the three rankings.
    assert {id(e) for e in entries} <= {id(e) for e in everyone}


def test_entries_carry_copy_score_and_its_components_in_a_fixed_order() -> None:
    rows = tied_rows(30)
    trader_stats = scored_stats(rows)
    priors = Priors(win_rate=0.45, margin=0.03, consistency=0.6)
    built = board("day", rows, trader_stats, priors=priors)
    assert built.component_names == COMPONENTS
    for e in built.by_metric["score"]:
        expected = copy_score(e.pnl, e.volume, trader_stats[e.wallet], NOW, priors)
        assert e.score == expected.score
        assert e.components == tuple(expected.components[name] for name in COMPONENTS)
        assert all(type(c) is float for c in e.components)
        assert e == BoardEntry(
            e.wallet, e.user_name, e.x_username, e.verified, e.pnl, e.volume, e.score, e.components
        )


def test_inputs_reused_across_periods_follow_replaced_stats() -> None:
    rows = tied_rows(20)
    trader_stats = scored_stats(rows)
    before = board("week", rows, trader_stats)
    # Same clock reading and priors (another period of the same refresh), new details for all.
    trader_stats.update({w: stats(wallet=w, share=1.0) for w in trader_stats})
    after = board("month", rows, trader_stats)
    expected = {
        r.wallet: copy_score(r.pnl, r.volume, trader_stats[r.wallet], NOW).score for r in rows
    }
    assert {e.wallet: e.score for e in after.by_metric["score"]} == expected
    assert after.by_metric["score"] != before.by_metric["score"]
