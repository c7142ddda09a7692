"""compose() and nonce_for(): the pure half of exactly-once alert delivery.

compose decides what one Discord embed shows (a burst of one wallet's fills is one card, not a
wall of near-identical embeds); nonce_for must give the same nonce for the same message across
retries and restarts, or Discord's enforce_nonce cannot dedupe a resend.
"""

from __future__ import annotations

import itertools
import random
import string

import pytest

from bot.polymarket.records import Trade, trade_key
from bot.trades.cards import BURST_WINDOW, AlertCard, compose, nonce_for

WALLET_A = "0x" + "a" * 40
WALLET_B = "0x" + "b" * 40
T0 = 1_800_000_000.0
_tx_numbers = itertools.count(1)


def make_trade(
    *,
    wallet: str = WALLET_A,
    asset: str = "token-yes",
    side: str = "BUY",
    size: float = 10.0,
    price: float = 0.5,
    ts: float = T0,
) -> Trade:
    """A fill with a unique transaction, so two calls never collapse into one key."""
    tx = f"0x{next(_tx_numbers):064x}"
    return Trade(
        key=trade_key(tx, wallet, asset, side, size, price),
        wallet=wallet,
        asset=asset,
        condition_id="0x" + "c" * 64,
        side=side,
        size=size,
        price=price,
        timestamp=ts,
        transaction_hash=tx,
        outcome="Yes",
        title="Will it rain?",
        slug="will-it-rain",
        event_slug="rain",
        name="",
        pseudonym="",
    )


def rows(*trades: Trade, kind: str = "follow", delayed: bool = False) -> list:
    return [(t, kind, delayed) for t in trades]


def card_keys(cards: list[AlertCard]) -> list[list[str]]:
    return [[t.key for t in card.trades] for card in cards]


def test_empty_input_gives_no_cards() -> None:
    assert compose([]) == []


def test_fills_of_one_wallet_asset_and_side_within_the_window_become_one_card() -> None:
    a = make_trade(ts=T0, size=10, price=0.40)
    b = make_trade(ts=T0 + 10, size=30, price=0.50)
    c = make_trade(ts=T0 + BURST_WINDOW, size=60, price=0.60)  # the window is inclusive
    (card,) = compose(rows(a, b, c))
    assert [t.key for t in card.trades] == [a.key, b.key, c.key]
    assert card.first is a
    assert card.size == pytest.approx(100)
    assert card.usd == pytest.approx(4 + 15 + 36)
    # Volume-weighted, not the mean of the three prices (0.50).
    assert card.average_price == pytest.approx(55 / 100)


def test_the_window_counts_from_the_bursts_first_fill_not_the_last() -> None:
    # Otherwise a trader filling every 20 s would grow one card forever.
    a = make_trade(ts=T0)
    b = make_trade(ts=T0 + 20)
    c = make_trade(ts=T0 + 40)
    d = make_trade(ts=T0 + 50)
    assert card_keys(compose(rows(a, b, c, d))) == [[a.key, b.key], [c.key, d.key]]


def test_just_outside_the_window_is_a_new_card() -> None:
    a = make_trade(ts=T0)
    b = make_trade(ts=T0 + BURST_WINDOW + 0.001)
    assert card_keys(compose(rows(a, b))) == [[a.key], [b.key]]


@pytest.mark.parametrize(
    "other",
    [
        {"wallet": WALLET_B},
        {"asset": "token-no"},
        {"side": "SELL"},
    ],
    ids=["other wallet", "other asset", "other side"],
)
def test_a_different_wallet_asset_or_side_is_kept_apart(other: dict) -> None:
    a = make_trade(ts=T0)
    b = make_trade(ts=T0 + 1, **other)
    assert card_keys(compose(rows(a, b))) == [[a.key], [b.key]]


def test_cards_follow_time_order_and_interleaved_bursts_still_merge() -> None:
    # Time order: A's burst opened first, so its card comes first even though B's fill sits
    # between A's two fills; B's card keeps its own place.
    a1 = make_trade(ts=T0)
    b1 = make_trade(ts=T0 + 1, wallet=WALLET_B)
    a2 = make_trade(ts=T0 + 2)
    b2 = make_trade(ts=T0 + 3, wallet=WALLET_B, side="SELL")
    cards = compose(rows(a1, b1, a2, b2))
    assert card_keys(cards) == [[a1.key, a2.key], [b1.key], [b2.key]]
    starts = [card.first.timestamp for card in cards]
    assert starts == sorted(starts)


def test_a_merged_card_is_delayed_only_when_every_fill_was_delayed() -> None:
    # A live fill in the burst means the card is not stale: no "delayed" footer.
    a, b, c = make_trade(ts=T0), make_trade(ts=T0 + 1), make_trade(ts=T0 + 2)
    (all_late,) = compose(rows(a, b, delayed=True))
    assert all_late.delayed is True
    (mixed,) = compose([(a, "follow", True), (b, "follow", False), (c, "follow", True)])
    assert mixed.delayed is False
    (single,) = compose(rows(a, delayed=True))
    assert single.delayed is True


def test_a_card_keeps_the_kind_of_its_first_fill() -> None:
    a = make_trade(ts=T0)
    b = make_trade(ts=T0 + 1, wallet=WALLET_B)
    cards = compose([(a, "whale", False), (b, "follow", False)])
    assert [c.kind for c in cards] == ["whale", "follow"]


def test_single_card_numbers() -> None:
    trade = make_trade(size=250, price=0.08)
    card = AlertCard((trade,), "follow", False)
    assert card.size == 250
    assert card.usd == pytest.approx(20.0)
    assert card.average_price == pytest.approx(0.08)


def test_average_price_of_zero_size_falls_back_to_the_first_price() -> None:
    # Never a ZeroDivisionError while rendering, whatever upstream sent.
    card = AlertCard((make_trade(size=0.0, price=0.42),), "follow", False)
    assert card.average_price == 0.42


# ---- nonce_for ----------------------------------------------------------------------------------


def test_nonce_is_deterministic() -> None:
    keys = [make_trade().key for _ in range(5)]
    assert nonce_for(42, keys) == nonce_for(42, list(keys))


def test_nonce_ignores_key_order() -> None:
    # The outbox row and a restart may list the same trades in another order.
    keys = [make_trade().key for _ in range(6)]
    shuffled = keys[:]
    random.Random(3).shuffle(shuffled)
    assert nonce_for(7, keys) == nonce_for(7, shuffled) == nonce_for(7, list(reversed(keys)))


def test_nonce_depends_on_channel_and_trades() -> None:
    keys = [make_trade().key for _ in range(3)]
    assert nonce_for(1, keys) != nonce_for(2, keys)
    assert nonce_for(1, keys) != nonce_for(1, keys[:2])
    assert nonce_for(1, keys) != nonce_for(1, [*keys, make_trade().key])


@pytest.mark.parametrize("count", [0, 1, 10, 200])
def test_nonce_fits_discords_25_character_limit(count: int) -> None:
    keys = ["".join(random.choices(string.hexdigits, k=32)) for _ in range(count)]
    nonce = nonce_for(1_234_567_890_123_456_789, keys)
    assert 0 < len(nonce) <= 25
    assert all(c in string.hexdigits for c in nonce)
