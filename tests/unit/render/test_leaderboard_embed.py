from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.leaderboard.boards import page_of
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.models import BoardPage, ScoreRecord
from bot.leaderboard.service import Freshness
from bot.polymarket.records import LeaderboardRow
from bot.render.leaderboard import leaderboard_embed
from tests.unit.leaderboard.factories import board, stats

NOW = 1_800_000_000.0
FRESH = Freshness(False, NOW, None)


def board_page(n: int = 12, metric: str = "pnl") -> BoardPage:
    rows = [
        LeaderboardRow(
            i, f"0x{i:040x}", "@everyone" if i == 1 else f"u{i}", 1e6, 1e5 - i * 2e4, "", "", False
        )
        for i in range(1, n + 1)
    ]
    # the odd traders have enough evidence, the even ones too little, the last none loaded
    trader_stats = {r.wallet: stats(wallet=r.wallet, recent=10 if r.rank % 2 else 1) for r in rows}
    del trader_stats[rows[-1].wallet]
    built = board("month", rows, trader_stats, now=NOW)
    return page_of(built, metric, 1, evidence=Evidence(5, 1_000.0))


def test_embed_lists_ten_linked_rows_and_relative_update_time() -> None:
    embed = leaderboard_embed(board_page(), FRESH).to_dict()
    lines = embed["description"].splitlines()
    assert lines[0].startswith("**#1** [@\u200beveryone](https://polymarket.com/profile/0x")
    assert "**PnL +$80K**" in lines[0] and "Vol $1M" in lines[0] and "Score 57.7" in lines[0]
    assert "**PnL −$20K**" in lines[5]  # signed both ways
    assert "no score yet" in lines[1]  # too little evidence: no score shown
    assert sum(1 for line in lines if line.startswith("**")) == 10
    assert lines[-1] == "Updated <t:1800000000:R>"
    assert embed["footer"]["text"].startswith("Page 1/2 · 12 traders")
    assert embed["title"] == "Polymarket leaderboard · This month · by PnL"


def test_score_page_labels_the_rank_and_says_who_is_missing_and_why() -> None:
    page = board_page(metric="score")
    embed = leaderboard_embed(page, FRESH).to_dict()
    # Read together, the title and a row say "#3 by copy score": the title names the ordering
    # and each row carries its own N (the title never shows a literal "#N").
    assert embed["title"] == "Polymarket leaderboard · This month · by copy score"
    lines = embed["description"].splitlines()
    assert [line.split("**")[1] for line in lines[:6]] == ["#1", "#2", "#3", "#4", "#5", "#6"]
    assert "**Score " in lines[0] and "PnL +$80K" in lines[0]
    text = embed["description"]
    assert "traders with 5 closed positions and $1K traded in the last 90 days" in text
    assert "Still loading the history of 1 trader;" in text
    assert "5 traders with less history are ranked by PnL and volume only." in text
    assert embed["footer"]["text"].startswith("Page 1/1 · 6 traders")


def test_an_empty_score_page_while_everything_loads() -> None:
    page = replace(board_page(metric="score"), entries=(), trader_count=0, pending=12, thin=0)
    text = leaderboard_embed(page, FRESH).to_dict()["description"]
    assert text.startswith(
        "No trader has enough history for a copy score yet.\n"
        "The PnL and volume rankings are ready: try `metric: pnl`."
    )
    assert "Still loading the history of 12 traders;" in text


def test_the_score_page_shows_the_weekly_picks_record() -> None:
    record = ScoreRecord(date(2027, 1, 4), 3, {"score": 0.0213, "pnl": -0.004, "volume": None})
    page = replace(board_page(metric="score"), record=record)
    text = leaderboard_embed(page, FRESH).to_dict()["description"]
    assert (
        "📈 Weekly top 10s since <t:1799020800:d> (3 picks), PnL per $ traded since:"
        " copy score +2.1% · PnL −0.4% · volume —"
    ) in text
    # the pnl ordering does not carry it
    assert "Weekly top 10s" not in leaderboard_embed(board_page(), FRESH).to_dict()["description"]


def test_category_boards_say_their_category() -> None:
    page = replace(board_page(), category="politics")
    title = leaderboard_embed(page, FRESH).to_dict()["title"]
    assert title == "Polymarket leaderboard · Politics · This month · by PnL"


def test_stale_embed_says_since_when() -> None:
    embed = leaderboard_embed(board_page(), Freshness(True, 1_799_999_000.0, "HTTP 500")).to_dict()
    assert "Data may be stale: last updated <t:1799999000:R>" in embed["description"]
    assert "Updated <t:" not in embed["description"]
