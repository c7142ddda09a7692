"""The board publisher's memory side: the known traders are built with each swap of boards."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.cache import HotCache
from bot.leaderboard.evidence import Evidence
from bot.leaderboard.publish import BoardPublisher
from tests.unit.leaderboard.factories import board, row

FOX = "0x" + "1" * 40
OWL = "0x" + "2" * 40
ELK = "0x" + "3" * 40


def publisher() -> BoardPublisher:
    none: Any = None  # pool and stats: swapping boards into memory never touches them
    return BoardPublisher(none, HotCache(), none, evidence=Evidence())


def test_known_traders_are_built_once_per_swap_not_per_call() -> None:
    boards = publisher()
    assert dict(boards.known_traders()) == {}
    boards.swap([board("week", [row(1, 500.0, 9e3, FOX)]), board("all", [row(2, 900.0, 1e4, OWL)])])
    first = boards.known_traders()
    assert dict(first) == {FOX: "user1", OWL: "user2"}
    assert boards.known_traders() is first  # the same mapping for every keystroke

    boards.swap([board("week", [row(1, 500.0, 9e3, FOX), row(3, 100.0, 2e3, ELK)])])
    second = boards.known_traders()
    assert second is not first
    assert dict(second) == {FOX: "user1", OWL: "user2", ELK: "user3"}
    assert dict(first) == {FOX: "user1", OWL: "user2"}  # a reader's copy never changes


def test_a_username_comes_from_the_longest_board_first() -> None:
    boards = publisher()
    renamed = replace(row(1, 500.0, 9e3, FOX), user_name="NewName")
    boards.swap([board("day", [renamed]), board("all", [row(1, 500.0, 9e3, FOX)])])
    assert boards.known_traders()[FOX] == "user1"


def test_callers_cannot_change_the_known_traders() -> None:
    boards = publisher()
    boards.swap([board("week", [row(1, 500.0, 9e3, FOX)])])
    known: Any = boards.known_traders()
    with pytest.raises(TypeError):
        known[OWL] = "intruder"
    assert dict(boards.known_traders()) == {FOX: "user1"}


def test_a_category_board_swap_leaves_the_known_traders_as_they_are() -> None:
    boards = publisher()
    boards.swap([board("week", [row(1, 500.0, 9e3, FOX)])])
    before = boards.known_traders()
    boards.swap([replace(board("week", [row(2, 900.0, 1e4, OWL)]), category="politics")])
    assert boards.known_traders() is before and OWL not in before
