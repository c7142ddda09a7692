from __future__ import annotations

from bot.leaderboard.boards import build_board, page_of
from bot.leaderboard.service import Freshness
from bot.polymarket.records import LeaderboardRow
from bot.render.leaderboard import leaderboard_embed


def board_page(n: int = 12):  # type: ignore[no-untyped-def]
    rows = [
        LeaderboardRow(
            i, f"0x{i:040x}", "@everyone" if i == 1 else f"u{i}", 1e6, 1e5 - i, "", "", False
        )
        for i in range(1, n + 1)
    ]
    board = build_board("month", rows, {}, now=1_800_000_000.0, prior_win_rate=0.5)
    return page_of(board, "pnl", 1)


def test_embed_lists_ten_linked_rows_and_relative_update_time() -> None:
    embed = leaderboard_embed(board_page(), Freshness(False, 1_800_000_000.0, None)).to_dict()
    lines = embed["description"].splitlines()
    assert lines[0].startswith("**1.** [@\u200beveryone](https://polymarket.com/profile/0x")
    assert "PnL **$100K**" in lines[0] and "Vol $1M" in lines[0]
    assert sum(1 for line in lines if line.startswith("**")) == 10
    assert lines[-1] == "Updated <t:1800000000:R>"
    assert embed["footer"]["text"].startswith("Page 1/2 · 12 traders")
    assert embed["title"] == "Polymarket leaderboard · This month · by PnL"


def test_stale_embed_says_since_when() -> None:
    embed = leaderboard_embed(board_page(), Freshness(True, 1_799_999_000.0, "HTTP 500")).to_dict()
    assert "Data may be stale: last updated <t:1799999000:R>" in embed["description"]
    assert "Updated <t:" not in embed["description"]
