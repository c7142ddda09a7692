"""Turning what a user typed in /follow into a wallet, and the autocomplete behind it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cache import HotCache
from bot.events import EventBus
from bot.leaderboard.boards import build_board
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.scoring import Priors
from bot.leaderboard.service import LeaderboardService
from bot.polymarket.records import LeaderboardRow
from bot.traders.resolve import TraderNotFound, is_blank, resolve_trader, suggestions

NOW = 1_800_000_000.0
FOX = "0x" + "1" * 38 + "ab"
OWL = "0x" + "2" * 38 + "cd"
ANON = "0x" + "3" * 38 + "ef"
MIXED = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"


def leaderboard(names: dict[str, str]) -> LeaderboardService:
    """A service whose cache holds a week board of ``wallet -> username``; no DB, no HTTP."""
    none: Any = None  # pool, api and stats: the read path never touches them
    service = LeaderboardService(
        none, none, none, HotCache(), EventBus(), refresh_interval=60, clock=lambda: NOW
    )
    rows = [
        LeaderboardRow(rank, wallet, name, 1e6, 1e5 - rank, "", "", False)
        for rank, (wallet, name) in enumerate(names.items(), start=1)
    ]
    board = build_board("week", rows, {}, now=NOW, priors=Priors(), evidence=Evidence())
    service.publisher.swap([board])
    return service


@pytest.fixture
def board() -> LeaderboardService:
    return leaderboard({FOX: "BraveFox", OWL: "QuietOwl", ANON: ""})


def test_mixed_case_wallet_is_lowercased(board: LeaderboardService) -> None:
    # Polymarket profiles show EIP-55 mixed case; everything stored is lower case.
    assert resolve_trader(f"  {MIXED}  ", board) == (MIXED.lower(), "")


def test_wallet_on_the_leaderboard_gets_its_username_as_label(board: LeaderboardService) -> None:
    assert resolve_trader(FOX.upper().replace("0X", "0x"), board) == (FOX, "BraveFox")


def test_default_username_resolves_to_its_wallet(board: LeaderboardService) -> None:
    # Traders who never set a name are shown as "0x<Address>-<ms>"; pasting that must work.
    assert resolve_trader(f"{MIXED}-1712345678901", board) == (MIXED.lower(), "")


@pytest.mark.parametrize("text", ["0x123", "0x" + "g" * 40, "0x" + "a" * 41, FOX + "-"])
def test_malformed_wallet_says_what_a_wallet_looks_like(
    text: str, board: LeaderboardService
) -> None:
    with pytest.raises(TraderNotFound, match="malformed"):
        resolve_trader(text, board)


@pytest.mark.parametrize("text", ["", "   ", "\t\u3000", "\u200b \ufeff"])
def test_blank_input_asks_for_a_trader(text: str, board: LeaderboardService) -> None:
    assert is_blank(text)
    with pytest.raises(TraderNotFound, match="Type a trader"):
        resolve_trader(text, board)


@pytest.mark.parametrize("text", ["nobody", "0x"])
def test_unknown_name_points_to_the_wallet_or_suggestions(
    text: str, board: LeaderboardService
) -> None:
    with pytest.raises(TraderNotFound, match="No trader by that name"):
        resolve_trader(text, board)


def test_known_name_resolves_case_insensitively(board: LeaderboardService) -> None:
    wallet, label = resolve_trader("  bravefox ", board)
    assert wallet == FOX
    assert label.lower() == "bravefox"


def test_known_name_label_uses_the_leaderboards_spelling(board: LeaderboardService) -> None:
    assert resolve_trader("bravefox", board) == (FOX, "BraveFox")


def test_username_that_starts_with_0x_is_still_a_name() -> None:
    service = leaderboard({FOX: "0xSniper"})
    assert resolve_trader("0xSniper", service) == (FOX, "0xSniper")


def test_overlong_input_is_bounded(board: LeaderboardService) -> None:
    with pytest.raises(TraderNotFound):
        resolve_trader("x" * 10_000, board)


# ---- suggestions -------------------------------------------------------------------------------


def test_suggestions_match_names_case_insensitively_and_label_them(
    board: LeaderboardService,
) -> None:
    assert suggestions("fox", board) == [(f"BraveFox ({FOX[:6]}…{FOX[-4:]})", FOX)]
    assert suggestions("OWL", board) == [(f"QuietOwl ({OWL[:6]}…{OWL[-4:]})", OWL)]


def test_suggestions_match_a_wallet_prefix_and_show_bare_wallets(
    board: LeaderboardService,
) -> None:
    assert suggestions(ANON[:10].upper().replace("0X", "0x"), board) == [(ANON, ANON)]


def test_empty_input_suggests_everyone_up_to_the_limit(board: LeaderboardService) -> None:
    assert {w for _, w in suggestions("", board)} == {FOX, OWL, ANON}
    assert len(suggestions("", board, limit=2)) == 2


def test_extra_names_come_first_and_win_over_the_leaderboard(board: LeaderboardService) -> None:
    # extra: the server's own follows, labelled as the server named them.
    extra = {FOX: "my fox", "0x" + "9" * 40: "local hero"}
    found = suggestions("", board, extra)
    assert [w for _, w in found][:2] == list(extra)
    assert found[0][0].startswith("my fox (")
    assert suggestions("hero", board, extra) == [("local hero (0x9999…9999)", "0x" + "9" * 40)]


def test_labels_fit_discords_100_character_choice_limit() -> None:
    service = leaderboard({FOX: "N" * 300})
    ((label, wallet),) = suggestions("n", service)
    assert len(label) <= 100 and wallet == FOX


def test_no_board_still_offers_extra_names() -> None:
    none: Any = None
    empty = LeaderboardService(none, none, none, HotCache(), EventBus(), refresh_interval=60)
    assert suggestions("", empty, {FOX: "fox"}) == [(f"fox ({FOX[:6]}…{FOX[-4:]})", FOX)]
    with pytest.raises(TraderNotFound):
        resolve_trader("fox", empty)
