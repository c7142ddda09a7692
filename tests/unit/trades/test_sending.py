"""Packing prepared cards into one message within Discord's limits."""

from __future__ import annotations

import itertools

from bot.polymarket.records import Trade, trade_key
from bot.trades.cards import MAX_CARDS, AlertCard
from bot.trades.sending import MESSAGE_CHARACTERS, Prepared, fit_message

_numbers = itertools.count(1)


def card() -> AlertCard:
    tx = f"0x{next(_numbers):064x}"
    wallet = "0x" + "a" * 40
    trade = Trade(
        trade_key(tx, wallet, "a", "BUY", 1, 0.5), wallet, "a", "", "BUY", 1, 0.5, 1.0, tx,
        "Yes", "", "", "", "", "",
    )  # fmt: skip
    return AlertCard((trade,), "follow", False)


def test_cards_are_packed_up_to_the_count_and_the_character_budget() -> None:
    small = [Prepared(card(), 300, None) for _ in range(12)]
    assert len(fit_message(small)) == MAX_CARDS
    large = [Prepared(card(), 2_000, None) for _ in range(4)]
    assert len(fit_message(large)) == MESSAGE_CHARACTERS // 2_000
    assert fit_message([]) == []


def test_the_first_card_always_goes_even_when_alone_it_is_large() -> None:
    cards = [Prepared(card(), MESSAGE_CHARACTERS, None), Prepared(card(), 10, None)]
    assert [p.size for p in fit_message(cards)] == [MESSAGE_CHARACTERS]
